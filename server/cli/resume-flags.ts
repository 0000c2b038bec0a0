/**
 * The CLI's resume flags (docs/server.md "Resume"): `--resume` and the history's bounds, and with `--amqp` the
 * RabbitMQ stream's name and retention. Kept apart from `options.ts`, like it, so `cli.ts` stays a list of steps.
 */
import { DEFAULTS } from '../../protocol/index.js';
import type { StreamOptions } from '../feeds/amqp-stream.js';
import type { ServerResumeOptions } from '../options.js';
import { wholeNumber } from './options.js';

/** `parseArgs` specs of the resume flags. */
export const RESUME_FLAGS = {
  resume: { type: 'boolean' },
  'resume-history-entries': { type: 'string' },
  'resume-history-bytes': { type: 'string' },
  'progress-interval-ms': { type: 'string' },
  'resume-wait-ms': { type: 'string' },
  'stream-name': { type: 'string' },
  'stream-max-age': { type: 'string' },
  'stream-max-bytes': { type: 'string' },
  'stream-segment-bytes': { type: 'string' },
  'stream-read-back-ms': { type: 'string' },
  'no-stream': { type: 'boolean' },
} as const;

const d = DEFAULTS.resume;
const st = DEFAULTS.stream;
/** Usage lines of the resume flags, for `--help`. */
export const RESUME_USAGE = `
resume (docs/server.md "Resume"):
  --resume                   positions on frames; a client that re-watches
                             with its last one gets what it missed       default off
  --resume-history-entries N changes kept per resumable channel          default ${d.historyEntries}
  --resume-history-bytes N   bytes kept per resumable channel            default ${d.historyBytes}
  --progress-interval-ms N   bookmark for quiet watches, 0 = never       default ${d.progressIntervalMs}
  --resume-wait-ms N         wait for a position this instance has not
                             read yet (the stream)                       default ${d.waitMs}
  with --amqp, the RabbitMQ stream every instance shares:
  --stream-name NAME         the stream queue (after the prefix)         default ${st.name}
  --stream-max-age AGE       retention by age (x-max-age: 1h, 7D …)      default ${st.maxAge}
  --stream-max-bytes N       retention by size (x-max-length-bytes)      default ${st.maxLengthBytes}
  --stream-segment-bytes N   segment size (retention's granularity)      default ${st.maxSegmentSizeBytes}
  --stream-read-back-ms N    what a starting instance reads back         default ${st.readBackMs}
  --no-stream                resume per instance only, without a stream
`;

/** The values `parseArgs` returns for `RESUME_FLAGS` (derived from them, so a flag added there is typed here). */
export type ResumeFlagValues = {
  [F in keyof typeof RESUME_FLAGS]?: (typeof RESUME_FLAGS)[F]['type'] extends 'boolean' ? boolean : string;
};

/** What the flags configure: `createServer({resume})`, and `amqp.stream` (false: none). */
export interface ResumeConfig {
  resume: ServerResumeOptions | undefined;
  stream: StreamOptions | false;
}

/**
 * Translates the resume flags into options; a flag that only means something with `--resume` is refused without it.
 * @throws Error naming the flag for a malformed value.
 */
export function resumeConfig(values: ResumeFlagValues): ResumeConfig {
  const resume: ServerResumeOptions = {};
  const stream: StreamOptions = {};
  const numbers = [
    ['resume-history-entries', 1, (n: number) => (resume.historyEntries = n)],
    ['resume-history-bytes', 1, (n: number) => (resume.historyBytes = n)],
    ['progress-interval-ms', 0, (n: number) => (resume.progressIntervalMs = n)],
    ['resume-wait-ms', 0, (n: number) => (resume.waitMs = n)],
    ['stream-max-bytes', 1, (n: number) => (stream.maxLengthBytes = n)],
    ['stream-segment-bytes', 1, (n: number) => (stream.maxSegmentSizeBytes = n)],
    ['stream-read-back-ms', 0, (n: number) => (stream.readBackMs = n)],
  ] as const;
  let given = false;
  for (const [flag, min, set] of numbers) {
    const text = values[flag];
    if (text === undefined) continue;
    set(wholeNumber(flag, text, min));
    given = true;
  }
  const age = values['stream-max-age'];
  if (age !== undefined) {
    if (!/^\d+(Y|M|D|h|m|s)$/.test(age))
      throw new Error(`invalid --stream-max-age "${age}": expected a number and a unit (Y M D h m s), like 1h or 7D`);
    stream.maxAge = age;
    given = true;
  }
  const name = values['stream-name'];
  if (name !== undefined) {
    if (name === '' || name.length > 200) throw new Error(`invalid --stream-name "${name}": expected a queue name`);
    stream.name = name;
    given = true;
  }
  if ((given || values['no-stream']) && !values.resume) throw new Error('the resume and stream flags need --resume');
  return { resume: values.resume ? resume : undefined, stream: values['no-stream'] ? false : stream };
}
