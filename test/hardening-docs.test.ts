/**
 * README's Configuration, Security and Operating sections and PROTOCOL.md's limits cite the code's tables (DEFAULTS,
 * CLOSE_CODES, the CLI flags, the option names); these tests keep them from drifting apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, DEFAULTS, type CloseCode } from '../protocol/index.js';
import { OPERATING_FLAGS } from '../server/cli-options.js';
import type { TransportOptions } from '../server/transport-options.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
const protocol = read('PROTOCOL.md');

/** A top-level (`## `) section of the README, up to the next one. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`README has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}
const configuration = section('Configuration');
const security = section('Security');
const operating = section('Operating');

const OPTIONS = [
  'authenticate', 'authenticateTimeoutMs', 'origins', 'anyOrigin', 'rateLimit', 'maxConnectionsPerIp', 'slowConsumer', 'heartbeatMs',
  'closeTimeoutMs', 'debugStats',
] as const satisfies readonly (keyof TransportOptions)[];
// Fails to compile when TransportOptions gains an option this list (and so the docs check) does not name.
const everyOptionListed: Exclude<keyof TransportOptions, (typeof OPTIONS)[number]> extends never ? true : false = true;

const MiB = (n: number) => `${n / (1024 * 1024)} MiB`;

describe('README: Configuration', () => {
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
    ] as const) {
      expect(configuration).toMatch(new RegExp(`\\| \`${option}\` \\| ${value}\\b`));
    }
    expect(configuration).toContain(`| \`--shutdown-timeout-ms N\` | | | ${DEFAULTS.shutdownTimeoutMs} |`);
    expect(configuration).toContain(`| \`maxPayload\` | ${MiB(DEFAULTS.maxPayload)} |`);
  });
});

describe('README: Operating', () => {
  it('follows Configuration and Security, and says what each fault does, backends included', () => {
    expect(readme.indexOf('\n## Configuration\n')).toBeLessThan(readme.indexOf('\n## Security\n'));
    expect(readme.indexOf('\n## Security\n')).toBeLessThan(readme.indexOf('\n## Operating\n'));
    for (const fault of ['server killed', 'RabbitMQ connection lost', 'MongoDB unreachable', "client's network drops", 'client stops reading']) {
      expect(operating, fault).toContain(`| ${fault}`);
    }
  });
});

describe('README: Security', () => {
  it('lists every close code a security decision produces, with the client rule from CLOSE_CODES', () => {
    for (const code of [1008, 4401, 1011, 4403, 1013, 4429, 1009] as CloseCode[]) {
      const row = security.split('\n').find((l) => l.startsWith(`| ${code} |`));
      expect(row, `row for ${code}`).toBeDefined();
      expect(row).toMatch(CLOSE_CODES[code].retry ? /\| retries \|$/ : /\| stops until `connect\(\)` \|$/);
    }
  });

  it('states the limits from DEFAULTS', () => {
    expect(security).toContain(`burst ${DEFAULTS.rateLimit.burst.toLocaleString('en-US')}, then ${DEFAULTS.rateLimit.perSecond} per second`);
    expect(security).toContain(`${MiB(DEFAULTS.slowConsumer.softBytes)} for ${DEFAULTS.slowConsumer.graceMs / 1000} s or ${MiB(DEFAULTS.slowConsumer.hardBytes)}`);
    expect(security).toContain(`every ${DEFAULTS.heartbeatMs / 1000} s`);
    expect(security).toContain(`(${DEFAULTS.authenticateTimeoutMs / 1000} s)`);
  });
});

describe('PROTOCOL.md limits, heartbeat and shutdown', () => {
  it('state the numbers from DEFAULTS', () => {
    expect(protocol).toContain(`| burst ${DEFAULTS.rateLimit.burst.toLocaleString('en-US')}, then ${DEFAULTS.rateLimit.perSecond} per second | close 4429 |`);
    expect(protocol).toContain(`${MiB(DEFAULTS.slowConsumer.softBytes)} for ${DEFAULTS.slowConsumer.graceMs / 1000} s, or ${MiB(DEFAULTS.slowConsumer.hardBytes)} at any time`);
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
