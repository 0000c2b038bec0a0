/**
 * Deterministic bench data (seeded with the shared `prng`): RackHD-shaped records padded to a fixed JSON size, and the change
 * schedules of the scenarios. Every process (orchestrator, servers, load) derives the same data from the same seed.
 */
import type { Doc, Filter } from '../protocol/index.js';
import { prng } from '../server/demo/random.js';

/** A 24-hex, ObjectId-shaped id for record `n` of a namespace. */
export function hexId(namespace: number, n: number): string {
  return namespace.toString(16).padStart(8, '0') + n.toString(16).padStart(16, '0');
}

/** Pads `doc` with a `pad` string so that its JSON text is `bytes` long (when it is not already longer). */
export function padTo(doc: Doc, bytes: number): Doc {
  const base = JSON.stringify({ ...doc, pad: '' }).length;
  return { ...doc, pad: 'x'.repeat(Math.max(0, bytes - base)) };
}

/** The timestamp every change carries and every receiver compares with: CLOCK_MONOTONIC in µs, shared by all processes. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A compute node as the fan-out scenarios change it: `seq` and `ts` change, the JSON stays `bytes` long. */
export function fanoutRecord(id: string, seq: number, ts: number, bytes: number): Doc {
  return padTo({ id, name: `node-${id.slice(-6)}`, type: 'compute', sku: 'sku-1', seq, ts }, bytes);
}

/** Node types and SKUs of the storm scenario's records (watched in pairs by every client). */
export const STORM_TYPES = ['compute', 'switch', 'pdu', 'enclosure'] as const;
export const STORM_SKUS = Array.from({ length: 16 }, (_, i) => `sku-${i}`);

/** The storm scenario's nodes; `version` 0 before the restart, 1 for those changed while the server was down. */
export function stormNodes(count: number, bytes: number, version = 0, seed = 7): Doc[] {
  const random = prng(seed);
  const out: Doc[] = [];
  for (let n = 0; n < count; n++) {
    const type = STORM_TYPES[Math.floor(random() * STORM_TYPES.length)]!;
    const sku = STORM_SKUS[Math.floor(random() * STORM_SKUS.length)]!;
    out.push(padTo({ id: hexId(0x5107, n), name: `node-${n}`, type, sku, version }, bytes));
  }
  return out;
}

/** The two watches of storm client `i`: one of the 4 types and one of the 16 SKUs (20 distinct params). */
export function stormWatches(i: number): [Filter, Filter] {
  return [{ type: STORM_TYPES[i % STORM_TYPES.length]! }, { sku: STORM_SKUS[Math.floor(i / STORM_TYPES.length) % STORM_SKUS.length]! }];
}

/** One change of the filtered-watch scenario: record `record` now belongs to node `node`. */
export interface FilteredChange {
  readonly record: number;
  readonly node: number;
  /** The node it belonged to before (equal to `node` when it did not move). */
  readonly from: number;
}

/**
 * The filtered-watch scenario: `nodes` nodes with `perNode` workflows each; `changes` updates spread uniformly over
 * the records, a share `moveShare` of which move the workflow to another node (a `remove` for the old node's
 * watcher, an `item` for the new one's).
 */
export function filteredSchedule(nodes: number, perNode: number, changes: number, moveShare: number, seed = 11): FilteredChange[] {
  const random = prng(seed);
  const owner = Array.from({ length: nodes * perNode }, (_, r) => Math.floor(r / perNode));
  const out: FilteredChange[] = [];
  for (let c = 0; c < changes; c++) {
    const record = Math.floor(random() * owner.length);
    const from = owner[record]!;
    let node = from;
    if (random() < moveShare && nodes > 1) node = (from + 1 + Math.floor(random() * (nodes - 1))) % nodes;
    owner[record] = node;
    out.push({ record, node, from });
  }
  return out;
}

/** Id of node `n` and of workflow `r` in the filtered-watch scenario. */
export const nodeId = (n: number): string => hexId(0x40de, n);
export const workflowId = (r: number): string => hexId(0xf10a, r);

/** A workflow (graph object) of node `node`, `bytes` long. */
export function workflowRecord(r: number, node: number, seq: number, ts: number, bytes: number): Doc {
  return padTo({ instanceId: workflowId(r), name: 'Graph.Discovery', node: nodeId(node), _status: 'running', seq, ts }, bytes);
}

/**
 * The storm scenario's truth after the restart: while the server was down, a tenth of the nodes were deleted,
 * a fifth updated (`version` 1; every other one of those also changed its type, so it moves between watches)
 * and a tenth added. Every store must end up exactly like this.
 */
export function stormNodesAfter(count: number, bytes: number): Doc[] {
  const before = stormNodes(count, bytes);
  const random = prng(13);
  const out: Doc[] = [];
  for (const doc of before) {
    const r = random();
    if (r < 0.1) continue;
    if (r < 0.3) {
      const type = r < 0.2 ? STORM_TYPES[Math.floor(random() * STORM_TYPES.length)]! : (doc.type as string);
      out.push(padTo({ ...doc, type, version: 1, pad: '' }, bytes));
    } else out.push(doc);
  }
  const added = Math.floor(count / 10);
  const fresh = stormNodes(added, bytes, 1, 17).map((d, i) => ({ ...d, id: hexId(0x5108, i), name: `new-node-${i}` }));
  return [...out, ...fresh];
}

/** What `changeNodes` did: the truth after, and the writes that make it (upserts, then removes by id). */
export interface NodeChanges {
  readonly next: Doc[];
  readonly upserts: Doc[];
  readonly removes: Doc[];
}

/**
 * The resume scenario's changes while clients are away: `share` of the records change (at least one), as RackHD
 * changes nodes — of those, a tenth deleted, a tenth replaced by newly discovered nodes, three tenths re-typed (they
 * move from one watch to another) and the rest updated in place. Round `round` (from 1) always makes the same changes
 * to the same truth. Every changed record gets a version no other change gives, so a store holding each record at the
 * truth's version holds exactly the truth's records.
 */
export function changeNodes(truth: readonly Doc[], share: number, round: number, bytes: number): NodeChanges {
  const random = prng(1000 + round);
  const order = truth.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const k = Math.max(1, Math.round(share * truth.length));
  const deletes = Math.round(k * 0.1);
  const creates = Math.round(k * 0.1);
  const moves = Math.round(k * 0.3);
  const changed = new Map<number, Doc | null>();
  const upserts: Doc[] = [];
  const removes: Doc[] = [];
  order.slice(0, k).forEach((index, j) => {
    const doc = truth[index]!;
    const version = round * 100_000 + j + 1;
    if (j < deletes) {
      changed.set(index, null);
      removes.push(doc);
      return;
    }
    let type = doc.type as string;
    if (j < deletes + moves) type = STORM_TYPES[(STORM_TYPES.indexOf(type as (typeof STORM_TYPES)[number]) + 1) % STORM_TYPES.length]!;
    const after = padTo({ ...doc, type, version, pad: '' }, bytes);
    changed.set(index, after);
    upserts.push(after);
  });
  const fresh = stormNodes(creates, bytes, 0, 100 + round).map((d, j) =>
    padTo(
      { ...d, id: hexId(0x5109, round * 10_000 + j), name: `found-${round}-${j}`, version: round * 100_000 + k + j + 1, pad: '' },
      bytes,
    ),
  );
  upserts.push(...fresh);
  const next = truth.flatMap((doc, i) => {
    const c = changed.get(i);
    return c === undefined ? [doc] : c === null ? [] : [c];
  });
  return { next: [...next, ...fresh], upserts, removes };
}
