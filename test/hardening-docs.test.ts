/**
 * The server's docs cite the code's tables (DEFAULTS, CLOSE_CODES, the CLI flags, the option names): docs/server.md's
 * Configuration, docs/security.md, docs/operations.md and PROTOCOL.md's limits. These tests keep them from drifting
 * apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, DEFAULTS, type CloseCode } from '../protocol/index.js';
import { OPERATING_FLAGS } from '../server/cli/options.js';
import type { TransportOptions } from '../server/ws/options.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const protocol = read('PROTOCOL.md');

/** A top-level (`## `) section of a page, up to the next one. */
function section(page: string, title: string): string {
  const text = read(page);
  const start = text.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`${page} has no "## ${title}" section`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}
const configuration = section('docs/server.md', 'Configuration');
const security = read('docs/security.md');
const operating = read('docs/operations.md');

const OPTIONS = [
  'authenticate',
  'authenticateTimeoutMs',
  'origins',
  'anyOrigin',
  'rateLimit',
  'maxConnectionsPerIp',
  'slowConsumer',
  'heartbeatMs',
  'closeTimeoutMs',
  'handshakeTimeoutMs',
  'fragmentTimeoutMs',
  'maxPendingUpgrades',
  'maxConnections',
  'maxQueuedBytes',
  'debugStats',
  'rackhd1x',
] as const satisfies readonly (keyof TransportOptions)[];
// Fails to compile when TransportOptions gains an option this list (and so the docs check) does not name.
const everyOptionListed: Exclude<keyof TransportOptions, (typeof OPTIONS)[number]> extends never ? true : false = true;

const MiB = (n: number) => `${n / (1024 * 1024)} MiB`;

describe('docs/server.md: Configuration', () => {
  it('has an options row for every TransportOptions option and every CLI flag', () => {
    expect(everyOptionListed).toBe(true);
    for (const option of OPTIONS) expect(configuration, option).toContain(`\`${option}\``);
    for (const flag of Object.keys(OPERATING_FLAGS)) expect(configuration, flag).toContain(`--${flag}`);
  });

  it('states the defaults from DEFAULTS', () => {
    const r = DEFAULTS.rateLimit;
    const s = DEFAULTS.slowConsumer;
    expect(configuration).toContain(`\`{perSecond: ${r.perSecond}, burst: ${r.burst}}\``);
    expect(configuration).toContain(`\`{softBytes: ${MiB(s.softBytes)}, hardBytes: ${MiB(s.hardBytes)}, graceMs: ${s.graceMs}}\``);
    for (const [option, value] of [
      ['heartbeatMs', DEFAULTS.heartbeatMs],
      ['closeTimeoutMs', DEFAULTS.closeTimeoutMs],
      ['authenticateTimeoutMs', DEFAULTS.authenticateTimeoutMs],
      ['maxConnectionsPerIp', DEFAULTS.maxConnectionsPerIp],
      ['maxWatches', DEFAULTS.maxWatches],
      ['handshakeTimeoutMs', DEFAULTS.handshakeTimeoutMs],
      ['fragmentTimeoutMs', DEFAULTS.fragmentTimeoutMs],
      ['maxPendingUpgrades', DEFAULTS.maxPendingUpgrades],
      ['maxConnections', DEFAULTS.maxConnections],
    ] as const) {
      expect(configuration).toMatch(new RegExp(`\\| \`${option}\` \\| ${value}\\b`));
    }
    expect(configuration).toContain(`| \`--shutdown-timeout-ms N\` | | | ${DEFAULTS.shutdownTimeoutMs} |`);
    expect(configuration).toContain(`| \`maxPayload\` | ${MiB(DEFAULTS.maxPayload)} |`);
    expect(configuration).toContain(`| \`maxQueuedBytes\` | ${MiB(DEFAULTS.maxQueuedBytes)} |`);
  });
});

describe('docs/operations.md', () => {
  it('comes after Configuration and Security in the README, cites Configuration, and says what each fault does, backends included', () => {
    const contents = section('README.md', 'Documentation');
    const at = (page: string) => contents.indexOf(`| [${page}](${page}) |`);
    expect(at('docs/server.md')).toBeGreaterThan(-1);
    expect(at('docs/server.md')).toBeLessThan(at('docs/security.md'));
    expect(at('docs/security.md')).toBeLessThan(at('docs/operations.md'));
    expect(operating).toContain('(server.md#configuration)');
    for (const fault of [
      'server killed',
      'RabbitMQ connection lost',
      'MongoDB unreachable',
      "client's network drops",
      'client stops reading',
    ]) {
      expect(operating, fault).toContain(`| ${fault}`);
    }
  });
});

describe('docs/security.md', () => {
  it('lists every close code a security decision produces, with the client rule from CLOSE_CODES', () => {
    for (const code of [1008, 4401, 1011, 4403, 1013, 4429, 1009] as CloseCode[]) {
      const row = security.split('\n').find((l) => l.startsWith(`| ${code} |`));
      expect(row, `row for ${code}`).toBeDefined();
      expect(row).toMatch(CLOSE_CODES[code].retry ? /\| retries \|$/ : /\| stops until `connect\(\)` \|$/);
    }
  });

  it('states the limits from DEFAULTS', () => {
    expect(security).toContain(
      `burst ${DEFAULTS.rateLimit.burst.toLocaleString('en-US')}, then ${DEFAULTS.rateLimit.perSecond} per second`,
    );
    expect(security).toContain(
      `${MiB(DEFAULTS.slowConsumer.softBytes)} for ${DEFAULTS.slowConsumer.graceMs / 1000} s or ${MiB(DEFAULTS.slowConsumer.hardBytes)}`,
    );
    expect(security).toContain(`every ${DEFAULTS.heartbeatMs / 1000} s`);
    expect(security).toContain(`(${DEFAULTS.authenticateTimeoutMs / 1000} s)`);
  });
});

describe('PROTOCOL.md limits, heartbeat and shutdown', () => {
  it('state the numbers from DEFAULTS', () => {
    expect(protocol).toContain(
      `| burst ${DEFAULTS.rateLimit.burst.toLocaleString('en-US')}, then ${DEFAULTS.rateLimit.perSecond} per second | close 4429 |`,
    );
    expect(protocol).toContain(
      `${MiB(DEFAULTS.slowConsumer.softBytes)} for ${DEFAULTS.slowConsumer.graceMs / 1000} s, or ${MiB(DEFAULTS.slowConsumer.hardBytes)} at any time`,
    );
    expect(protocol).toContain(`| ${DEFAULTS.maxWatches} | \`error\` \`too-many-watches\` |`);
    expect(protocol).toContain(`| ${DEFAULTS.maxInValues.toLocaleString('en-US')} | \`error\` \`too-large\` |`);
    expect(protocol).toContain(`| ${MiB(DEFAULTS.maxWatchBytes)} | \`error\` \`too-many-watches\` |`);
    expect(protocol).toContain(`| ${DEFAULTS.maxReadsInFlight.toLocaleString('en-US')} | \`error\` \`too-many-reads\` |`);
    expect(protocol).toContain(`| ${MiB(DEFAULTS.maxListBytes)} | \`error\` \`too-large\` (never a cut list) |`);
    expect(protocol).toContain(`every ${DEFAULTS.heartbeatMs / 1000} s`);
    expect(protocol).toContain(`waits up to ${DEFAULTS.closeTimeoutMs / 1000} s`);
    expect(protocol).toContain(`after ${DEFAULTS.shutdownTimeoutMs / 1000} s it`);
    expect(protocol).toContain(`takes over ${DEFAULTS.authenticateTimeoutMs / 1000} s`);
  });
});
