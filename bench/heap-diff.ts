/**
 * What a heap grew by between two V8 heap snapshots (`.heapsnapshot`), grouped by node type and constructor or
 * function name, largest first, with counts and bytes per unit (`--per N`: per connection). Used to see what an
 * idle connection retains (scenario 7, `BENCH_HEAPSNAPSHOT=1`).
 *
 *   npx tsx bench/heap-diff.ts before.heapsnapshot after.heapsnapshot --per 1000 [--top 40]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Groups whose name is content, not a type: every string is one group, every number another. */
const BY_TYPE = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'symbol', 'regexp']);

/** `type:name` → [count, self bytes]. */
export function summarise(path: string): Map<string, [number, number]> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const T = fields.indexOf('type');
  const N = fields.indexOf('name');
  const S = fields.indexOf('self_size');
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + T]!]!;
    const name = BY_TYPE.has(type) ? '' : snap.strings[snap.nodes[i + N]!]!.slice(0, 60);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? [0, 0];
    e[0]++;
    e[1] += snap.nodes[i + S]!;
    out.set(key, e);
  }
  return out;
}

/** Rows of what grew: [key, count delta, bytes delta], largest bytes first. */
export function diff(before: Map<string, [number, number]>, after: Map<string, [number, number]>): Array<[string, number, number]> {
  const rows: Array<[string, number, number]> = [];
  for (const [key, [n, b]] of after) {
    const [n0, b0] = before.get(key) ?? [0, 0];
    if (n !== n0 || b !== b0) rows.push([key, n - n0, b - b0]);
  }
  for (const [key, [n0, b0]] of before) if (!after.has(key)) rows.push([key, -n0, -b0]);
  return rows.sort((a, b) => Math.abs(b[2]) - Math.abs(a[2]));
}

if (process.argv[1]?.endsWith('heap-diff.ts')) {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : Number(args.splice(i, 2)[1]);
  };
  const per = opt('--per', 1);
  const top = opt('--top', 40);
  const [a, b] = args;
  if (!a || !b) throw new Error('usage: tsx bench/heap-diff.ts before.heapsnapshot after.heapsnapshot [--per N] [--top K]');
  const rows = diff(summarise(a), summarise(b));
  const total = rows.reduce((s, r) => s + r[2], 0);
  process.stdout.write(`total ${total} bytes, ${(total / per).toFixed(1)} per unit (${per})\n`);
  for (const [key, n, bytes] of rows.slice(0, top)) {
    process.stdout.write(`${(bytes / per).toFixed(1).padStart(8)} B ${(n / per).toFixed(2).padStart(7)} ×  ${key}\n`);
  }
}
