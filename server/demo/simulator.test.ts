import { describe, expect, it } from 'vitest';
import { startDemo } from './simulator.js';
import { demoFixtures } from './fixtures.js';
import { MemoryBackend } from '../sources/memory.js';
import type { Change } from '../hub/source.js';

const manual = { setInterval: () => 0, clearInterval: () => undefined };

describe('demo simulator', () => {
  it('discovers nodes, runs workflows to an end with progress and logs, and removes nodes beyond the limit', () => {
    const backend = new MemoryBackend({ seed: demoFixtures() });
    const changes: Change[] = [];
    backend.onChange((c) => changes.push(c));
    const before = new Set(backend.all('nodes').map((n) => n.id));
    const demo = startDemo(backend, { timers: manual, maxNodes: 10, seed: 7 });
    for (let i = 0; i < 200; i++) demo.step();
    demo.stop();

    const created = changes.filter((c) => c.channel === 'nodes' && c.prev === null && !before.has(c.id));
    const removed = changes.filter((c) => c.channel === 'nodes' && c.data === null);
    expect(created.length).toBeGreaterThan(3);
    expect(removed.length).toBeGreaterThan(0);
    expect(backend.all('nodes').length).toBeLessThanOrEqual(10);

    const statuses = new Set(changes.filter((c) => c.channel === 'workflows' && c.data).map((c) => c.data!._status));
    expect(statuses).toEqual(new Set(['pending', 'running', 'succeeded', 'failed']));
    const finished = backend.all('workflows').find((w) => w._status === 'succeeded' && (w.progress as { value: number }).value === 5);
    expect(finished).toBeDefined();
    expect(changes.filter((c) => c.channel === 'logs').length).toBeGreaterThan(20);
    expect(changes.filter((c) => c.channel === 'events').length).toBeGreaterThan(5);
  });

  it('is reproducible for a seed', () => {
    const run = () => {
      const backend = new MemoryBackend({ seed: demoFixtures() });
      const demo = startDemo(backend, { timers: manual, seed: 3, now: () => new Date(0) });
      for (let i = 0; i < 50; i++) demo.step();
      return JSON.stringify([backend.all('nodes'), backend.all('workflows')]);
    };
    expect(run()).toBe(run());
  });
});
