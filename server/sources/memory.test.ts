import { describe, expect, it } from 'vitest';
import type { Change } from '../hub/source.js';
import { MemoryBackend } from './memory.js';
import { demoFixtures, makeNode } from '../demo/fixtures.js';

describe('MemoryBackend', () => {
  it('upsert emits a change with the previous record, or null for a create', () => {
    const backend = new MemoryBackend({ seed: {} });
    const changes: Change[] = [];
    backend.onChange((c) => changes.push(c));
    const node = makeNode(1);
    backend.upsert('nodes', node);
    backend.upsert('nodes', { ...node, name: 'b' });
    expect(changes.map((c) => [c.id, c.prev?.name ?? null, c.data?.name])).toEqual([
      [node.id, null, node.name],
      [node.id, node.name, 'b'],
    ]);
  });

  it('passes a write’s stream offset on with its change (upsert, append, remove), and none for its own writes', () => {
    const backend = new MemoryBackend({ seed: {} });
    const changes: Change[] = [];
    backend.onChange((c) => changes.push(c));
    backend.upsert('nodes', makeNode(1), { offset: 7 });
    backend.append('logs', { subject: 'n', message: 'm' }, { offset: 8 });
    backend.remove('nodes', makeNode(1).id as string, { offset: 9 });
    backend.upsert('nodes', makeNode(2));
    backend.upsert('nodes', makeNode(3), { offset: undefined });
    expect(changes.map((c) => c.offset)).toEqual([7, 8, 9, undefined, undefined]);
    expect('offset' in changes[3]!).toBe(false);
  });

  it('keeps its own copy: mutating the caller’s object changes nothing', () => {
    const backend = new MemoryBackend({ seed: {} });
    const node = makeNode(1);
    backend.upsert('nodes', node);
    node.name = 'mutated';
    expect(backend.get('nodes', { id: node.id as string })!.name).not.toBe('mutated');
  });

  it('remove emits data null with the previous record and reports whether it existed', () => {
    const backend = new MemoryBackend({ seed: { nodes: [makeNode(1)] } });
    const changes: Change[] = [];
    backend.onChange((c) => changes.push(c));
    expect(backend.remove('nodes', makeNode(1).id as string)).toBe(true);
    expect(backend.remove('nodes', 'missing')).toBe(false);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ data: null, prev: { id: makeNode(1).id } });
  });

  it('read filters with matches and stops at the limit', () => {
    const backend = new MemoryBackend({ seed: { nodes: [makeNode(1), makeNode(2, 'switch'), makeNode(3)] } });
    expect(backend.read('nodes', { type: 'compute' }, 10).map((n) => n.id)).toEqual([makeNode(1).id, makeNode(3).id]);
    expect(backend.read('nodes', {}, 2)).toHaveLength(2);
  });

  it('get finds by id or by filter', () => {
    const backend = new MemoryBackend({ seed: { nodes: [makeNode(1), makeNode(2, 'switch')] } });
    expect(backend.get('nodes', { id: makeNode(2).id as string })!.type).toBe('switch');
    expect(backend.get('nodes', { type: 'switch' })!.id).toBe(makeNode(2).id);
    expect(backend.get('nodes', { id: makeNode(2).id as string, type: 'compute' })).toBeUndefined();
  });

  it('workflows are keyed by instanceId and answer to graphObjs', () => {
    const backend = new MemoryBackend({ seed: demoFixtures() });
    const wf = backend.all('workflows')[0]!;
    expect(backend.get('graphObjs', { instanceId: wf.instanceId! })).toEqual(wf);
  });

  it('append derives the same id from the same content and keeps one entry', () => {
    const backend = new MemoryBackend({ seed: {} });
    const a = backend.append('logs', { subject: 'n1', message: 'x', timestamp: 't' });
    const b = backend.append('logs', { timestamp: 't', message: 'x', subject: 'n1' });
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(b.id).toBe(a.id);
    expect(backend.all('logs')).toHaveLength(1);
  });

  it('bounds log history per subject, dropping the oldest', () => {
    const backend = new MemoryBackend({
      seed: {},
      channels: [{ name: 'logs', idField: 'id', appendOnly: true, historyKey: 'subject', historyLimit: 3 }],
    });
    for (let i = 0; i < 5; i++) backend.append('logs', { subject: 'a', n: i });
    backend.append('logs', { subject: 'b', n: 0 });
    expect(backend.all('logs').map((e) => [e.subject, e.n])).toEqual([
      ['a', 2],
      ['a', 3],
      ['a', 4],
      ['b', 0],
    ]);
  });

  it('refuses records without an id and unknown channels', () => {
    const backend = new MemoryBackend({ seed: {} });
    expect(() => backend.upsert('nodes', { name: 'x' })).toThrow(/"id"/);
    expect(() => backend.upsert('bogus', { id: 'x' })).toThrow(/unknown channel/);
  });

  it('seeds RackHD-shaped demo data on every channel', () => {
    const backend = new MemoryBackend({ seed: demoFixtures() });
    for (const channel of ['nodes', 'catalogs', 'skus', 'workflows', 'pollers', 'logs', 'events']) {
      expect(backend.all(channel).length, channel).toBeGreaterThan(0);
    }
    const statuses = new Set(backend.all('workflows').map((w) => w._status));
    expect(statuses.size).toBeGreaterThanOrEqual(4);
  });
});
