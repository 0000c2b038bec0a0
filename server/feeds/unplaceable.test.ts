/** The unplaceable-message log: counted per kind, one line per kind per interval, with the count it stands for. */
import { expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import type { Logger } from '../hub/logger.js';
import { UnplaceableLog } from './unplaceable.js';

function recorder(): { logger: Logger; lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const at =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push([level, msg, fields]);
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

it('logs the first message of a kind at once, then at most once per DEFAULTS.unplaceableLogIntervalMs with the count since', () => {
  const { logger, lines } = recorder();
  let now = 1_000;
  const log = new UnplaceableLog({ logger, now: () => now });
  for (let i = 0; i < 500; i++) log.note('warn', 'waterline:no-id', 'dropped', { routingKey: `k${i}` });
  expect(lines).toEqual([['warn', 'dropped', { routingKey: 'k0', kind: 'waterline:no-id', count: 1, total: 1 }]]);
  now += DEFAULTS.unplaceableLogIntervalMs - 1;
  log.note('warn', 'waterline:no-id', 'dropped', { routingKey: 'late' });
  expect(lines).toHaveLength(1);
  now += 1;
  log.note('warn', 'waterline:no-id', 'dropped', { routingKey: 'next' });
  expect(lines[1]).toEqual(['warn', 'dropped', { routingKey: 'next', kind: 'waterline:no-id', count: 501, total: 502 }]);
  expect(log.counts()).toEqual({ 'waterline:no-id': 502 });
});

it('throttles each kind on its own, at the level asked for', () => {
  const { logger, lines } = recorder();
  const log = new UnplaceableLog({ logger, now: () => 0, intervalMs: 10 });
  log.note('warn', 'a', 'm', {});
  log.note('debug', 'b', 'n', {});
  log.note('warn', 'a', 'm', {});
  expect(lines.map(([level, , f]) => [level, f.kind])).toEqual([
    ['warn', 'a'],
    ['debug', 'b'],
  ]);
  expect(log.counts()).toEqual({ a: 2, b: 1 });
});
