import { parseArgs } from 'node:util';
import type { IncomingMessage } from 'node:http';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { OPERATING_FLAGS, OPERATING_USAGE, operatingConfig } from './options.js';

function config(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { values } = parseArgs({ args, options: OPERATING_FLAGS });
  return operatingConfig(values, env);
}

describe('CLI operating flags', () => {
  it('configure nothing by default: createServer applies DEFAULTS, shutdown bound from DEFAULTS', () => {
    expect(config([])).toEqual({ server: {}, shutdownTimeoutMs: DEFAULTS.shutdownTimeoutMs });
  });

  it('--origin is repeatable; MONORAIL_ORIGINS is the comma-separated fallback', () => {
    expect(config(['--origin', 'https://a.example.com', '--origin', 'https://*.b.example.com']).server.origins).toEqual([
      'https://a.example.com',
      'https://*.b.example.com',
    ]);
    expect(config([], { MONORAIL_ORIGINS: 'https://a.example.com, http://localhost:*' }).server.origins).toEqual([
      'https://a.example.com',
      'http://localhost:*',
    ]);
    expect(config(['--any-origin']).server.anyOrigin).toBe(true);
  });

  it('--rackhd1x-path moves or turns off the 1.x dialect, --rackhd1x-unauthenticated opens it; a bad path is refused', () => {
    expect(config(['--rackhd1x-path', '/old-ui']).server.rackhd1x).toEqual({ path: '/old-ui' });
    expect(config(['--rackhd1x-path', 'off']).server.rackhd1x).toBe(false);
    expect(config(['--rackhd1x-unauthenticated']).server.rackhd1x).toEqual({ unauthenticated: true });
    for (const bad of ['rackhd', '/', '/a/', '/a b']) expect(() => config(['--rackhd1x-path', bad])).toThrow(/invalid --rackhd1x-path/);
    expect(OPERATING_USAGE).toContain('--rackhd1x-path');
  });

  it('MONORAIL_JWT_SECRET turns on JWT authentication with the issuer and audience flags', async () => {
    const secret = 's'.repeat(32);
    const { server } = config(['--jwt-issuer', 'rackhd', '--jwt-audience', 'ui'], { MONORAIL_JWT_SECRET: secret });
    const jwt = await new SignJWT({ sub: 'u', iss: 'rackhd', aud: 'ui' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(secret));
    const req = (t: string) => ({ headers: { authorization: `Bearer ${t}` } }) as unknown as IncomingMessage;
    expect(await server.authenticate!(req(jwt))).toMatchObject({ sub: 'u' });
    expect(await server.authenticate!(req('x'))).toBeNull();
  });

  it('refuses a short secret, and JWT flags without a secret', () => {
    expect(() => config([], { MONORAIL_JWT_SECRET: 'short' })).toThrow(/at least 32 bytes/);
    expect(() => config(['--jwt-issuer', 'x'])).toThrow(/need MONORAIL_JWT_SECRET/);
  });

  it('--rate-limit N[/BURST] or off', () => {
    expect(config(['--rate-limit', '50/600']).server.rateLimit).toEqual({ perSecond: 50, burst: 600 });
    expect(config(['--rate-limit', '5000']).server.rateLimit).toEqual({ perSecond: 5000, burst: 5000 });
    expect(config(['--rate-limit', '10']).server.rateLimit).toEqual({ perSecond: 10, burst: DEFAULTS.rateLimit.burst });
    expect(config(['--rate-limit', 'off']).server.rateLimit).toBe(false);
    for (const bad of ['0', 'x', '10/0', '-5']) expect(() => config([`--rate-limit=${bad}`])).toThrow(/invalid --rate-limit/);
  });

  it('numbers: connections per address, heartbeat, close and shutdown timeouts, debug stats', () => {
    expect(
      config([
        '--max-connections-per-ip',
        '20',
        '--heartbeat-ms',
        '0',
        '--close-timeout-ms',
        '250',
        '--shutdown-timeout-ms',
        '3000',
        '--debug-stats',
      ]),
    ).toEqual({
      server: { maxConnectionsPerIp: 20, heartbeatMs: 0, closeTimeoutMs: 250, debugStats: true },
      shutdownTimeoutMs: 3000,
    });
    expect(() => config(['--heartbeat-ms', 'soon'])).toThrow('invalid --heartbeat-ms "soon"');
    expect(() => config(['--max-connections-per-ip=-1'])).toThrow(/invalid --max-connections-per-ip/);
  });

  it('numbers: handshake and fragment timeouts, pending upgrades, connections, queued bytes (0 = off)', () => {
    expect(
      config([
        '--handshake-timeout-ms',
        '2000',
        '--fragment-timeout-ms',
        '0',
        '--max-pending-upgrades',
        '50',
        '--max-connections',
        '20000',
        '--max-queued-bytes',
        String(64 * 1024 * 1024),
      ]).server,
    ).toEqual({
      handshakeTimeoutMs: 2000,
      fragmentTimeoutMs: 0,
      maxPendingUpgrades: 50,
      maxConnections: 20_000,
      maxQueuedBytes: 64 * 1024 * 1024,
    });
    for (const flag of ['handshake-timeout-ms', 'fragment-timeout-ms', 'max-pending-upgrades', 'max-connections', 'max-queued-bytes']) {
      expect(() => config([`--${flag}`, '1.5'])).toThrow(`invalid --${flag} "1.5": expected a whole number >= 0`);
      expect(() => config([`--${flag}=-3`])).toThrow(`invalid --${flag} "-3"`);
    }
  });

  it('the cost bounds: values per $in, watch bytes, reads in flight, read bytes and list bytes, each at least 1', () => {
    expect(
      config([
        ...['--max-in-values', '5000', '--max-watch-bytes', '1048576', '--max-reads-in-flight', '512'],
        ...['--max-read-bytes', '2097152', '--max-list-bytes', '8388608'],
      ]).server,
    ).toEqual({ maxInValues: 5000, maxWatchBytes: 1_048_576, maxReadsInFlight: 512, maxReadBytes: 2_097_152, maxListBytes: 8_388_608 });
    for (const flag of ['max-in-values', 'max-watch-bytes', 'max-reads-in-flight', 'max-read-bytes', 'max-list-bytes']) {
      // 0 would not turn the bound off but refuse everything: refused, like any malformed value.
      expect(() => config([`--${flag}`, '0'])).toThrow(`invalid --${flag} "0": expected a whole number >= 1`);
      expect(() => config([`--${flag}`, 'lots'])).toThrow(`invalid --${flag}`);
    }
  });

  it('the usage text states the defaults from DEFAULTS', () => {
    const r = DEFAULTS.rateLimit;
    expect(OPERATING_USAGE).toContain(`default ${r.perSecond}/${r.burst}`);
    expect(OPERATING_USAGE).toContain(`default ${DEFAULTS.heartbeatMs}`);
    expect(OPERATING_USAGE).toContain(`default ${DEFAULTS.shutdownTimeoutMs}`);
    for (const value of [
      DEFAULTS.handshakeTimeoutMs,
      DEFAULTS.fragmentTimeoutMs,
      DEFAULTS.maxPendingUpgrades,
      DEFAULTS.maxConnections,
      DEFAULTS.maxQueuedBytes,
    ]) {
      expect(OPERATING_USAGE).toContain(`default ${value}\n`);
    }
    for (const n of [
      DEFAULTS.maxInValues,
      DEFAULTS.maxWatchBytes,
      DEFAULTS.maxReadsInFlight,
      DEFAULTS.maxReadBytes,
      DEFAULTS.maxListBytes,
    ]) {
      expect(OPERATING_USAGE).toContain(`default ${n}`);
    }
    for (const flag of Object.keys(OPERATING_FLAGS)) expect(OPERATING_USAGE).toContain(`--${flag}`);
  });
});
