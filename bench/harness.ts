/**
 * What every scenario of `npm run bench` shares: the run's context (configuration, run id, where rows go), the
 * bundled child scripts, and starting and stopping the server and load processes. The scenarios live in
 * fanout.ts, filtered.ts, storm.ts, resume.ts and footprint.ts; bench/run.ts runs them in order.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BenchConfig } from './config.js';
import { startChild, type Child } from './ipc.js';
import type { Row } from './report.js';
import type { ServerSpec } from './server.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Where `bundle` writes the child scripts (server, load, store-bench, mongo-truth, proxy) as `.mjs`. */
export const OUT = `${HERE}.build`;
/** Where CPU profiles and heap snapshots go (BENCH_PROFILE, BENCH_HEAPSNAPSHOT). */
export const PROFILES = `${HERE}.profiles`;

/** One `npm run bench`: what every scenario reads and where it sends its rows (bench/run.ts makes it). */
export interface Bench {
  cfg: BenchConfig;
  /** Unique per run, so the exchanges of scenario 4 never meet those of another run on the same broker. */
  runId: string;
  /** Prints one JSON line and keeps the row for the table at the end. */
  emitRow(row: Row): void;
}

export type Target = 'monorail-ws' | 'raw-ws' | 'socket.io';

export function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

export async function bundle(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entryPoints: ['server', 'load', 'store-bench', 'mongo-truth', 'proxy'].map((n) => `${HERE}${n}.ts`),
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

export async function startServer(spec: ServerSpec, flags: string[] = []): Promise<{ child: Child; port: number }> {
  const child = await startChild(`server ${spec.target}`, `${OUT}/server.mjs`, ['--expose-gc', ...flags], {
    BENCH_SERVER: JSON.stringify(spec),
  });
  const { port } = await child.request<{ port: number }>('info');
  return { child, port };
}

export async function startLoads(n: number): Promise<Child[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startChild(`load ${i}`, `${OUT}/load.mjs`, ['--max-old-space-size=4096'])));
}

/** Splits `count` clients over the load processes: `[lo, hi)` each. */
export function split(count: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, i) => [Math.floor((count * i) / parts), Math.floor((count * (i + 1)) / parts)]);
}

export async function stopAll(server: Child | undefined, loads: Child[]): Promise<void> {
  await Promise.all(loads.map((l) => l.request('close').catch(() => undefined)));
  await Promise.all(loads.map((l) => l.stop()));
  if (server) {
    await server.request('exit').catch(() => undefined);
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await server.stop('SIGKILL');
  }
}

/**
 * Polls the loads' `storm-report` every `pollMs` until their clients' `converged` add up to `clients`, or 120 s pass;
 * the last reports (the storm and resume scenarios).
 */
export async function pollStormReports<R extends { converged: number }>(loads: Child[], clients: number, pollMs: number): Promise<R[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs));
    const reports = await Promise.all(loads.map((l) => l.request<R>('storm-report')));
    if (reports.reduce((a, r) => a + r.converged, 0) === clients || Date.now() > deadline) return reports;
  }
}

/** The `p` quantile (nearest rank) of ascending `sorted`; null when empty. */
export function quantile(sorted: readonly number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : null;
}

export function round(v: number | null, digits: number): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
