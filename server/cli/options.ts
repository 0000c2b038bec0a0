/**
 * The CLI's security and operating flags, kept apart from `cli.ts` so the command stays a short list of steps:
 * `parseArgs` option specs, their usage lines, and their translation into `createServer` options.
 * Secrets come from the environment only (`MONORAIL_JWT_SECRET`): a command line is visible to every local user
 * in `ps` and ends up in shell histories.
 */
import { DEFAULTS } from '../../protocol/index.js';
import { jwtVerifier } from '../security/auth.js';
import type { CostLimits } from '../hub/hub.js';
import type { RateLimit } from '../security/limits.js';
import type { TransportOptions } from '../ws/options.js';

/** `parseArgs` specs of the flags below. */
export const OPERATING_FLAGS = {
  origin: { type: 'string', multiple: true },
  'any-origin': { type: 'boolean' },
  'jwt-issuer': { type: 'string' },
  'jwt-audience': { type: 'string' },
  'rackhd1x-path': { type: 'string' },
  'rackhd1x-unauthenticated': { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'close-timeout-ms': { type: 'string' },
  'shutdown-timeout-ms': { type: 'string' },
  'handshake-timeout-ms': { type: 'string' },
  'fragment-timeout-ms': { type: 'string' },
  'max-pending-upgrades': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-queued-bytes': { type: 'string' },
  'debug-stats': { type: 'boolean' },
  // What one connection's requests may cost (CostLimits).
  'max-in-values': { type: 'string' },
  'max-watch-bytes': { type: 'string' },
  'max-reads-in-flight': { type: 'string' },
  'max-read-bytes': { type: 'string' },
  'max-list-bytes': { type: 'string' },
} as const;

const r = DEFAULTS.rateLimit;
/** Usage lines of the flags, for `--help`. */
export const OPERATING_USAGE = `
security (docs/security.md):
  --origin O                 allowed page origin, repeatable; https://ui.example.com, https://*.example.com,
                             http://localhost:* (env MONORAIL_ORIGINS, comma-separated)
                             default on 127.0.0.1/localhost: local pages; required on any other host
  --any-origin               allow every origin (only behind authentication)
  env MONORAIL_JWT_SECRET    require a JWT (HS256, at least 32 bytes of secret) from every client
  --jwt-issuer I             accepted "iss" claim                        default any
  --jwt-audience A           accepted "aud" claim                        default any
  --rackhd1x-path P          path prefix of RackHD's 1.x UI dialect, or  default ${DEFAULTS.legacyPath}
                             off (docs/rackhd.md)
  --rackhd1x-unauthenticated with a JWT required, still admit the 1.x
                             UI (it cannot send one) on that path        default closed (4401)

limits and operating (docs/operations.md):
  --rate-limit N[/BURST]     messages per second per connection, or off  default ${r.perSecond}/${r.burst}
                             (BURST defaults to the larger of N and ${r.burst})
  --max-connections-per-ip N open connections per address, 0 = off      default ${DEFAULTS.maxConnectionsPerIp}
  --heartbeat-ms N           server ping interval, 0 = off               default ${DEFAULTS.heartbeatMs}
  --close-timeout-ms N       wait for a client's close answer            default ${DEFAULTS.closeTimeoutMs}
  --shutdown-timeout-ms N    exit 1 when SIGTERM shutdown takes longer   default ${DEFAULTS.shutdownTimeoutMs}
  --handshake-timeout-ms N   cut a connection whose HTTP request has not
                             fully arrived by then, 0 = off              default ${DEFAULTS.handshakeTimeoutMs}
  --fragment-timeout-ms N    close (1008) a connection whose message is
                             still unfinished after this, 0 = off        default ${DEFAULTS.fragmentTimeoutMs}
  --max-pending-upgrades N   connections not yet upgraded; more are cut
                             at once, 0 = off                            default ${DEFAULTS.maxPendingUpgrades}
  --max-connections N        WebSocket connections in total; more are
                             closed with 1013, 0 = off                   default ${DEFAULTS.maxConnections}
  --max-queued-bytes N       bytes queued to all clients together; past
                             it the largest consumers get 1013, 0 = off  default ${DEFAULTS.maxQueuedBytes}
  --debug-stats              serve GET /debug/stats (memory, counters;   default off
                             behind authentication when it is on)
  --max-in-values N          values in one $in/$nin list (too-large)     default ${DEFAULTS.maxInValues}
  --max-watch-bytes N        bytes one connection's watches hold         default ${DEFAULTS.maxWatchBytes}
                             (too-many-watches)
  --max-reads-in-flight N    snapshot reads one connection has started   default ${DEFAULTS.maxReadsInFlight}
                             and not yet answered (too-many-reads)
  --max-read-bytes N         bytes one connection's reads in flight      default ${DEFAULTS.maxReadBytes}
                             hold, estimated (too-many-reads)
  --max-list-bytes N         JSON of the records of one list (too-large) default ${DEFAULTS.maxListBytes}
`;

/** The values `parseArgs` returns for `OPERATING_FLAGS`. */
export interface OperatingFlagValues {
  origin?: string[];
  'any-origin'?: boolean;
  'jwt-issuer'?: string;
  'jwt-audience'?: string;
  'rackhd1x-path'?: string;
  'rackhd1x-unauthenticated'?: boolean;
  'rate-limit'?: string;
  'max-connections-per-ip'?: string;
  'heartbeat-ms'?: string;
  'close-timeout-ms'?: string;
  'shutdown-timeout-ms'?: string;
  'handshake-timeout-ms'?: string;
  'fragment-timeout-ms'?: string;
  'max-pending-upgrades'?: string;
  'max-connections'?: string;
  'max-queued-bytes'?: string;
  'debug-stats'?: boolean;
  'max-in-values'?: string;
  'max-watch-bytes'?: string;
  'max-reads-in-flight'?: string;
  'max-read-bytes'?: string;
  'max-list-bytes'?: string;
}

/** The flags that are a whole number each, and the `createServer` option each sets. */
const COUNT_FLAGS = [
  ['max-connections-per-ip', 'maxConnectionsPerIp'],
  ['heartbeat-ms', 'heartbeatMs'],
  ['close-timeout-ms', 'closeTimeoutMs'],
  ['handshake-timeout-ms', 'handshakeTimeoutMs'],
  ['fragment-timeout-ms', 'fragmentTimeoutMs'],
  ['max-pending-upgrades', 'maxPendingUpgrades'],
  ['max-connections', 'maxConnections'],
  ['max-queued-bytes', 'maxQueuedBytes'],
] as const satisfies readonly (readonly [keyof OperatingFlagValues, keyof TransportOptions])[];

/** The cost bounds (`CostLimits`), a whole number of at least 1 each (0 would not turn one off but refuse everything). */
const COST_FLAGS = [
  ['max-in-values', 'maxInValues'],
  ['max-watch-bytes', 'maxWatchBytes'],
  ['max-reads-in-flight', 'maxReadsInFlight'],
  ['max-read-bytes', 'maxReadBytes'],
  ['max-list-bytes', 'maxListBytes'],
] as const satisfies readonly (readonly [keyof OperatingFlagValues, keyof CostLimits])[];

/** What the flags configure: `createServer` options and the shutdown bound. */
export interface OperatingConfig {
  server: TransportOptions & CostLimits;
  shutdownTimeoutMs: number;
}

/**
 * The value of `--<flag>`: a whole number of at least `min` (the resume flags use it too).
 * @throws Error naming the flag and the bound.
 */
export function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min)
    throw new Error(`invalid --${flag} "${text}": expected a whole number >= ${min}`);
  return n;
}

const count = (flag: string, text: string): number => wholeNumber(flag, text, 0);

/** A bound that 0 would not turn off but make refuse everything: at least 1. */
const atLeastOne = (flag: string, text: string): number => wholeNumber(flag, text, 1);

function rateLimit(text: string): RateLimit | false {
  if (text === 'off') return false;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
    throw new Error(`invalid --rate-limit "${text}": expected N or N/BURST (both >= 1), or off`);
  }
  const perSecond = Number(m[1]);
  return { perSecond, burst: m[2] !== undefined ? Number(m[2]) : Math.max(perSecond, DEFAULTS.rateLimit.burst) };
}

/**
 * Translates the flags and environment into options.
 * @throws Error naming the flag for a malformed value.
 */
export function operatingConfig(values: OperatingFlagValues, env: NodeJS.ProcessEnv): OperatingConfig {
  const server: TransportOptions & CostLimits = {};
  const envOrigins = env.MONORAIL_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const origins = values.origin ?? envOrigins;
  if (origins !== undefined) server.origins = origins;
  if (values['any-origin']) server.anyOrigin = true;
  const secret = env.MONORAIL_JWT_SECRET;
  if (secret !== undefined && secret !== '') {
    server.authenticate = jwtVerifier({
      secret,
      ...(values['jwt-issuer'] !== undefined ? { issuer: values['jwt-issuer'] } : {}),
      ...(values['jwt-audience'] !== undefined ? { audience: values['jwt-audience'] } : {}),
    });
  } else if (values['jwt-issuer'] !== undefined || values['jwt-audience'] !== undefined) {
    throw new Error('--jwt-issuer and --jwt-audience need MONORAIL_JWT_SECRET in the environment');
  }
  const legacyPath = values['rackhd1x-path'];
  if (legacyPath !== undefined && legacyPath !== 'off' && !/^\/[^?#\s]*[^/?#\s]$/.test(legacyPath)) {
    throw new Error(`invalid --rackhd1x-path "${legacyPath}": expected a path like /rackhd, or off`);
  }
  if (legacyPath === 'off') server.rackhd1x = false;
  else if (legacyPath !== undefined || values['rackhd1x-unauthenticated']) {
    server.rackhd1x = {
      ...(legacyPath !== undefined ? { path: legacyPath } : {}),
      ...(values['rackhd1x-unauthenticated'] ? { unauthenticated: true } : {}),
    };
  }
  if (values['rate-limit'] !== undefined) server.rateLimit = rateLimit(values['rate-limit']);
  for (const [flag, option] of COUNT_FLAGS) {
    const text = values[flag];
    if (text !== undefined) server[option] = count(flag, text);
  }
  if (values['debug-stats']) server.debugStats = true;
  for (const [flag, option] of COST_FLAGS) {
    const text = values[flag];
    if (text !== undefined) server[option] = atLeastOne(flag, text);
  }
  const shutdownTimeoutMs =
    values['shutdown-timeout-ms'] !== undefined ? count('shutdown-timeout-ms', values['shutdown-timeout-ms']) : DEFAULTS.shutdownTimeoutMs;
  return { server, shutdownTimeoutMs };
}
