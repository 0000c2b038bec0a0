import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { RESUME_FLAGS, RESUME_USAGE, resumeConfig } from './resume-flags.js';

function config(args: string[]) {
  const { values } = parseArgs({ args, options: RESUME_FLAGS });
  return resumeConfig(values);
}

describe('CLI resume flags', () => {
  it('resume is off by default; --resume turns it on with DEFAULTS, and the stream with it', () => {
    expect(config([])).toEqual({ resume: undefined, stream: {} });
    expect(config(['--resume'])).toEqual({ resume: {}, stream: {} });
  });

  it('set the history, the progress interval, the wait and the stream’s name and retention', () => {
    const args = ['--resume', '--resume-history-entries', '500', '--resume-history-bytes', '1048576', '--progress-interval-ms', '0'];
    args.push('--resume-wait-ms', '2000', '--stream-name', 'changes', '--stream-max-age', '7D', '--stream-max-bytes', '1000000000');
    args.push('--stream-segment-bytes', '1000000', '--stream-read-back-ms', '60000');
    expect(config(args)).toEqual({
      resume: { historyEntries: 500, historyBytes: 1_048_576, progressIntervalMs: 0, waitMs: 2000 },
      stream: { name: 'changes', maxAge: '7D', maxLengthBytes: 1_000_000_000, maxSegmentSizeBytes: 1_000_000, readBackMs: 60_000 },
    });
    expect(config(['--resume', '--no-stream'])).toEqual({ resume: {}, stream: false });
  });

  it('refuses malformed values, naming the flag, and stream or history flags without --resume', () => {
    expect(() => config(['--resume', '--resume-history-entries', '0'])).toThrow(/--resume-history-entries "0"/);
    expect(() => config(['--resume', '--stream-max-bytes', '1.5'])).toThrow(/--stream-max-bytes/);
    expect(() => config(['--resume', '--stream-max-age', '1 hour'])).toThrow(/--stream-max-age/);
    expect(() => config(['--resume', '--stream-name', ''])).toThrow(/--stream-name/);
    expect(() => config(['--stream-max-age', '1h'])).toThrow(/need --resume/);
    expect(() => config(['--no-stream'])).toThrow(/need --resume/);
  });

  it('the usage names every flag with its default from DEFAULTS', () => {
    for (const flag of Object.keys(RESUME_FLAGS)) expect(RESUME_USAGE).toContain(`--${flag}`);
    expect(RESUME_USAGE).toContain(`default ${DEFAULTS.resume.historyEntries}`);
    expect(RESUME_USAGE).toContain(`default ${DEFAULTS.stream.maxAge}`);
  });
});
