/**
 * The docs cite the code's tables; these tests keep them from drifting apart (graphql-ws's docs drifted from
 * its enum — not here).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, CLIENT_HANDLERS, DEFAULTS, ERROR_CODES, SERVER_HANDLERS } from '../protocol/index.js';
import { DEFAULT_CHANNELS } from '../server/channels.js';

const protocolMd = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('PROTOCOL.md', () => {
  it.each(Object.entries(CLOSE_CODES))('lists close code %s with its meaning and retry rule', (code, { meaning, retry }) => {
    const row = protocolMd.split('\n').find((l) => l.startsWith(`| ${code} |`));
    expect(row, `row for ${code}`).toBeDefined();
    expect(row).toContain(meaning);
    expect(row).toMatch(retry ? /\| yes/ : /\| no/);
  });

  it.each(Object.entries(ERROR_CODES))('lists error code %s with its meaning', (code, meaning) => {
    expect(protocolMd).toContain(`| \`${code}\` | ${meaning} |`);
  });

  it.each([...CLIENT_HANDLERS, ...SERVER_HANDLERS])('documents the %s message', (handler) => {
    expect(protocolMd).toContain(`### \`${handler}\``);
  });

  it('states every bound of the input budget with its default from DEFAULTS', () => {
    const section = protocolMd.split('### The input budget')[1]!.split('\n## ')[0]!;
    for (const [bound, value] of Object.entries(DEFAULTS.inputBudget)) {
      expect(section).toContain(`| \`${bound}\` | ${value.toLocaleString('en-US')} |`);
    }
  });

  it('states the default maxPayload and list cap', () => {
    expect(DEFAULTS.maxPayload).toBe(1024 * 1024);
    expect(protocolMd).toContain('1 MiB');
    expect(protocolMd).toContain(DEFAULTS.maxListItems.toLocaleString('en-US'));
  });
});

describe('README.md', () => {
  it('starts with exactly two set-up commands', () => {
    const section = readme.split('## Set up on a fresh machine')[1]!.split('```sh')[1]!.split('```')[0]!;
    const commands = section.split('\n').filter((l) => l.trim() !== '');
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^npm install && npm start/);
    expect(commands[1]).toMatch(/^bash \.ci\/run/);
  });

  it('lists every default channel', () => {
    for (const spec of DEFAULT_CHANNELS) expect(readme).toContain(`| \`${spec.name}\``);
  });

  it('states the client defaults from DEFAULTS', () => {
    const b = DEFAULTS.backoff;
    expect(readme).toContain(`{baseMs: ${b.baseMs}, maxMs: ${b.maxMs}, factor: ${b.factor}, jitter: ${b.jitter}, resetAfterMs: ${b.resetAfterMs}}`);
    expect(readme).toContain(`| \`maxQueue\` | ${DEFAULTS.maxQueue} |`);
    expect(readme).toContain(`{pingAfterMs: ${DEFAULTS.clientPingAfterMs}, timeoutMs: ${DEFAULTS.clientPongTimeoutMs}}`);
  });
});
