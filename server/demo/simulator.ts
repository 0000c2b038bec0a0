/**
 * The demo simulator (`monorail-ws serve --demo`, and the playground's in-page mock with `?demo=1`): RackHD
 * life in fast-forward. Nodes are discovered (node, catalogs, a Discovery workflow), workflows run through
 * pending → running → succeeded/failed with progress and log lines, pollers report, and now and then a node is
 * removed. Browser-safe; deterministic for a given seed.
 */
import type { Doc } from '../../protocol/index.js';
import { prng } from './random.js';
import { makeCatalog, makeEvent, makeLog, makeNode, makePoller, makeWorkflow } from './fixtures.js';

/** What the simulator writes to: the memory backend (or the mock's). */
export interface DemoTarget {
  upsert(channel: string, doc: Doc): Doc;
  remove(channel: string, id: string): boolean;
  append(channel: string, entry: Doc): Doc;
  all(channel: string): Doc[];
}

/** Options of `startDemo`. */
export interface DemoOptions {
  /**
   * Time between two simulation steps.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Most nodes alive at once; beyond it the simulator removes nodes.
   * @default 14
   */
  maxNodes?: number;
  /**
   * Seed of the simulator's own random numbers (reproducible runs).
   * @default 1
   */
  seed?: number;
  /** @default globalThis.setInterval / clearInterval */
  timers?: { setInterval(fn: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
  /** @default () => new Date() */
  now?: () => Date;
}

/** A running simulation. */
export interface Demo {
  /** Runs one step now (tests drive the simulator with this instead of waiting). */
  step(): void;
  stop(): void;
}

const STEPS = ['bootstrap-ubuntu', 'catalog-dmi', 'catalog-bmc', 'catalog-lldp', 'node-discovered'];

/** Starts the simulator; call `stop()` to end it. */
export function startDemo(target: DemoTarget, options: DemoOptions = {}): Demo {
  const random = prng(options.seed ?? 1);
  const now = options.now ?? (() => new Date());
  const maxNodes = options.maxNodes ?? 14;
  const timers = options.timers ?? {
    setInterval: (fn: () => void, ms: number) => globalThis.setInterval(fn, ms),
    clearInterval: (h: unknown) => globalThis.clearInterval(h as ReturnType<typeof setInterval>),
  };
  // Counters start above the fixtures' numbers so simulated records never collide with seeded ones.
  let counter = 100 + Math.floor(random() * 1000);

  const log = (subject: string, level: string, message: string, graphInstance?: string) =>
    target.append('logs', {
      ...makeLog(counter++, subject, level, message, graphInstance ? { graphInstance } : {}),
      timestamp: now().toISOString(),
    });

  function discover(): void {
    const n = counter++;
    const types = ['compute', 'compute', 'compute', 'switch', 'pdu'];
    const node: Doc = {
      ...makeNode(n, types[Math.floor(random() * types.length)]!),
      createdAt: now().toISOString(),
      updatedAt: now().toISOString(),
    };
    target.upsert('nodes', node);
    const id = node.id as string;
    target.append('events', { ...makeEvent(counter++, 'node', 'discovered', id, id), createdAt: now().toISOString() });
    if (node.type === 'compute') {
      target.upsert('catalogs', makeCatalog(counter++, id, 'dmi'));
      target.upsert('catalogs', makeCatalog(counter++, id, 'bmc'));
      target.upsert('pollers', makePoller(counter++, id, 'sdr'));
    }
    const wf = { ...makeWorkflow(n, id, 'pending'), createdAt: now().toISOString(), updatedAt: now().toISOString() };
    target.upsert('workflows', wf);
    log(id, 'info', `Node ${node.name as string} discovered`);
  }

  function advance(wf: Doc): void {
    const node = wf.node as string;
    const instanceId = wf.instanceId as string;
    const progress = (wf.progress ?? {}) as { value?: number; maximum?: number };
    const value = (wf._status === 'pending' ? 0 : (progress.value ?? 0)) + 1;
    const maximum = STEPS.length;
    const failed = wf._status === 'running' && random() < 0.08;
    const status = failed ? 'failed' : value >= maximum ? 'succeeded' : 'running';
    const step = STEPS[Math.min(value, maximum) - 1]!;
    target.upsert('workflows', {
      ...wf,
      _status: status,
      progress: {
        value: Math.min(value, maximum),
        maximum,
        percentage: `${Math.round((Math.min(value, maximum) / maximum) * 100)}%`,
        description: status === 'succeeded' ? 'Graph completed' : `Task ${step}`,
      },
      updatedAt: now().toISOString(),
    });
    if (wf._status === 'pending') {
      log(node, 'info', `Graph ${wf.name as string} started`, instanceId);
      target.append('events', { ...makeEvent(counter++, 'graph', 'started', instanceId, node), createdAt: now().toISOString() });
    }
    if (failed) log(node, 'error', `Task ${step} failed: ipmitool timed out`, instanceId);
    else log(node, random() < 0.3 ? 'debug' : 'info', `Running task ${step}`, instanceId);
    if (random() < 0.15) log(node, 'warning', 'BMC answered slowly, retrying', instanceId);
    if (status !== 'running') {
      log(node, status === 'failed' ? 'error' : 'info', `Graph ${wf.name as string} ${status}`, instanceId);
      target.append('events', {
        ...makeEvent(counter++, 'graph', 'finished', instanceId, node, { status }),
        createdAt: now().toISOString(),
      });
    }
  }

  function retire(): void {
    const nodes = target.all('nodes');
    const victim = nodes[Math.floor(random() * nodes.length)];
    if (!victim) return;
    const id = victim.id as string;
    for (const c of target.all('catalogs')) if (c.node === id) target.remove('catalogs', c.id as string);
    for (const p of target.all('pollers')) if (p.node === id) target.remove('pollers', p.id as string);
    target.remove('nodes', id);
    log('Server', 'info', `Node ${victim.name as string} removed`);
  }

  function step(): void {
    const active = target.all('workflows').filter((w) => w._status === 'pending' || w._status === 'running');
    for (const wf of active) if (random() < 0.7) advance(wf);
    const nodes = target.all('nodes').length;
    if (nodes >= maxNodes || (nodes > 6 && random() < 0.08)) retire();
    else if (active.length < 3 && random() < 0.5) discover();
    for (const p of target.all('pollers')) {
      if (random() < 0.1) target.upsert('pollers', { ...p, lastStarted: now().toISOString(), lastFinished: now().toISOString() });
    }
  }

  const handle = timers.setInterval(step, options.intervalMs ?? 1000);
  return { step, stop: () => timers.clearInterval(handle) };
}
