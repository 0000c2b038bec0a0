/** RackHD's broker formats: what each message becomes, and every way a message can be malformed. No broker. */
import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from '../hub/channels.js';
import { makeEvent, makeLog, makeNode, makeWorkflow } from '../demo/fixtures.js';
import { contentId } from '../hub/ids.js';
import {
  channelBindings,
  eventMessage,
  MalformedMessageError,
  normaliseRecord,
  parseRackhdMessage,
  waterlineMessage,
  type RackhdExchange,
} from './rackhd.js';

const registry = new ChannelRegistry();
const parse = (exchange: RackhdExchange, key: string, body: unknown) =>
  parseRackhdMessage(exchange, key, typeof body === 'string' ? body : JSON.stringify(body), registry);

describe('bindings', () => {
  it('binds each channel to the routing keys of the channel table, with graph.# (not graph.*) for workflows', () => {
    const of = (name: string) => channelBindings(registry.get(name)!);
    expect(of('nodes')).toEqual([{ exchange: 'waterline', pattern: 'nodes.*.*' }]);
    expect(of('catalogs')).toEqual([{ exchange: 'waterline', pattern: 'catalogs.*.*' }]);
    expect(of('skus')).toEqual([{ exchange: 'waterline', pattern: 'skus.*.*' }]);
    expect(of('pollers')).toEqual([{ exchange: 'waterline', pattern: 'workitems.*.*' }]);
    expect(of('workflows')).toEqual([
      { exchange: 'waterline', pattern: 'graphobjects.*.*' },
      { exchange: 'events', pattern: 'graph.#' },
    ]);
    expect(of('logs')).toEqual([{ exchange: 'logging', pattern: '#' }]);
    expect(of('events')).toEqual([{ exchange: 'events', pattern: '#' }]);
  });
});

describe('on.waterline', () => {
  const node = makeNode(1);

  it('created, updated and destroyed name the channel, the id and the record', () => {
    for (const event of ['created', 'updated', 'destroyed'] as const) {
      const { routingKey, payload } = waterlineMessage('nodes', event, node);
      expect(routingKey).toBe(`nodes.${event}.${String(node.id)}`);
      expect(parse('waterline', routingKey, payload)).toEqual({ kind: 'waterline', channel: 'nodes', event, id: node.id, record: node });
    }
  });

  it('uses the channel id field: a graphobjects record is keyed by instanceId, not its waterline id', () => {
    const wf = makeWorkflow(1, String(node.id), 'running');
    const msg = parse('waterline', `graphobjects.updated.${String(wf.id)}`, { event: 'updated', record: wf });
    expect(msg).toMatchObject({ kind: 'waterline', channel: 'workflows', id: wf.instanceId });
  });

  it('a trimmed destroyed record takes its id from the routing key', () => {
    expect(parse('waterline', 'nodes.destroyed.abc', { event: 'destroyed', record: {} })).toMatchObject({ id: 'abc', event: 'destroyed' });
  });

  it('normalises extended JSON ($oid, $date) and _id so broker records look like MongoDB reads', () => {
    const msg = parse('waterline', 'nodes.updated.5f', {
      event: 'updated',
      record: {
        _id: { $oid: '5F0000000000000000000001' },
        sku: { $oid: '5f0000000000000000000002' },
        at: { $date: '2026-01-01T00:00:00Z' },
        n: { $date: { $numberLong: '0' } },
      },
    });
    expect(msg).toMatchObject({
      id: '5f0000000000000000000001',
      record: {
        id: '5f0000000000000000000001',
        sku: '5f0000000000000000000002',
        at: '2026-01-01T00:00:00.000Z',
        n: '1970-01-01T00:00:00.000Z',
      },
    });
    expect(normaliseRecord({ id: 'x', _id: { $oid: 'ab' } })).toEqual({ _id: 'ab', id: 'x' });
  });

  const malformed: Array<[string, string, unknown]> = [
    ['not JSON', 'nodes.created.1', '{"event":'],
    ['JSON but not an object', 'nodes.created.1', '[1,2]'],
    ['a string', 'nodes.created.1', '"hello"'],
    ['unknown collection', 'lookups.created.1', { event: 'created', record: { id: '1' } }],
    ['unknown event', 'nodes.exploded.1', { event: 'exploded', record: { id: '1' } }],
    ['routing key and payload disagree', 'nodes.created.1', { event: 'destroyed', record: { id: '1' } }],
    ['no record', 'nodes.created.1', { event: 'created' }],
    ['record not an object', 'nodes.created.1', { event: 'created', record: [1] }],
    ['record without its id field', 'graphobjects.created.1', { event: 'created', record: { name: 'x' } }],
    ['record with an object id', 'nodes.created.1', { event: 'created', record: { id: { a: 1 } } }],
    ['record with an empty id', 'nodes.created.', { event: 'created', record: { id: '' } }],
  ];
  it.each(malformed)('%s is a MalformedMessageError', (_what, key, body) => {
    expect(() => parse('waterline', key, body)).toThrow(MalformedMessageError);
  });
});

describe('on.events', () => {
  it('a RackHD event becomes an events entry with a content-derived id (the same on every instance)', () => {
    const evt = makeEvent(1, 'node', 'discovered', 'n1', 'n1');
    const { routingKey, payload } = eventMessage(evt);
    expect(routingKey).toBe('node.discovered.information.n1.n1');
    const msg = parse('events', routingKey, payload);
    expect(msg).toEqual({ kind: 'event', entry: { ...evt, id: contentId(evt) } });
    expect(parse('events', routingKey, payload)).toEqual(msg);
  });

  it('graph started/finished events carry the workflow status; progress events do not', () => {
    const started = makeEvent(1, 'graph', 'started', 'g1', 'n1', { graphId: 'g1', graphName: 'Discovery', status: 'running' });
    const finished = makeEvent(2, 'graph', 'finished', 'g1', 'n1', { graphId: 'g1', status: 'failed' });
    const bare = makeEvent(3, 'graph', 'started', 'g2', null, {});
    const progress = makeEvent(4, 'graph', 'progress.updated', 'g1', 'n1', { progress: { value: 1 } });
    expect(parse('events', eventMessage(started).routingKey, started)).toMatchObject({
      graphStatus: { instanceId: 'g1', status: 'running' },
    });
    expect(parse('events', eventMessage(finished).routingKey, finished)).toMatchObject({
      graphStatus: { instanceId: 'g1', status: 'failed' },
    });
    expect(parse('events', eventMessage(bare).routingKey, bare)).toMatchObject({ graphStatus: { instanceId: 'g2', status: 'running' } });
    expect(eventMessage(bare).routingKey).toBe('graph.started.information.g2');
    const p = parse('events', eventMessage(progress).routingKey, progress);
    expect(p.kind === 'event' && p.graphStatus).toBeUndefined();
    expect(eventMessage(progress).routingKey.split('.')).toHaveLength(6);
  });

  it("RackHD's internal messages on on.events (not in event format) are ignored, not malformed", () => {
    expect(parse('events', 'graph.started.g1', { graphId: 'g1', graphName: 'x', status: 'running' })).toMatchObject({ kind: 'ignored' });
    expect(parse('events', 'default.task.finished', { taskId: 't' })).toMatchObject({ kind: 'ignored' });
  });

  it('not JSON or not an object is malformed', () => {
    expect(() => parse('events', 'graph.started.x', 'nope')).toThrow(MalformedMessageError);
    expect(() => parse('events', 'graph.started.x', 'null')).toThrow(MalformedMessageError);
  });
});

describe('on.logging', () => {
  it('a LogEvent becomes a logs entry; the level falls back to the routing key', () => {
    const log = makeLog(1, 'n1', 'info', 'hello');
    expect(parse('logging', 'info', log)).toEqual({ kind: 'log', entry: { ...log, id: contentId(log) } });
    const { level: _drop, ...noLevel } = log;
    expect(parse('logging', 'warning', noLevel)).toMatchObject({ entry: { level: 'warning' } });
  });

  it('a log without a message, or not JSON, is malformed', () => {
    expect(() => parse('logging', 'info', { level: 'info' })).toThrow(MalformedMessageError);
    expect(() => parse('logging', 'info', '\u0000\u0001')).toThrow(MalformedMessageError);
    expect(() => parse('logging', '', { message: 'x' })).toThrow(MalformedMessageError);
  });
});
