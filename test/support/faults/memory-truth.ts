/**
 * The truth in the test process, for the fault-convergence harness on the embedded memory backend: every server
 * process (test/support/faults/truth-server.ts) is seeded with it and then sent each later write over IPC, so killing a server loses
 * nothing the next one is not seeded with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc } from '../../../protocol/index.js';
import { idField, type ServerHandle, type TruthSource, type Write } from './harness.js';
import { startProcess, type ServerProcess } from '../processes.js';

/** What `test/support/faults/truth-server.ts` applies (its memory backend's `upsert`/`remove`). */
type ServerWrite = { op: 'upsert'; channel: string; doc: Doc } | { op: 'remove'; channel: string; id: string };

/**
 * The truth in the test process; each server process is seeded with it (a JSON file) and then receives every
 * later write over IPC. Writes made while no server runs, or while one starts, are in the next seed or are sent
 * once it listens.
 */
export class MemoryTruth implements TruthSource {
  private readonly tables = new Map<string, Map<string, Doc>>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'monorail-truth-'));
  private current: ServerProcess | undefined;
  private ready = false;
  private queued: ServerWrite[] = [];
  private started = 0;

  constructor(
    seed: Readonly<Record<string, readonly Doc[]>>,
    /** `createServer` options for every server process (JSON). */
    private readonly serverOptions: object = {},
  ) {
    for (const [channel, docs] of Object.entries(seed)) {
      this.tables.set(channel, new Map(docs.map((d) => [String(d[idField(channel)]), structuredClone(d)])));
    }
  }

  write(w: Write): Promise<void> {
    const table = this.tables.get(w.channel) ?? new Map<string, Doc>();
    this.tables.set(w.channel, table);
    if (w.op === 'upsert') {
      table.set(String(w.doc[idField(w.channel)]), structuredClone(w.doc));
      this.send({ op: 'upsert', channel: w.channel, doc: w.doc });
    } else if (w.op === 'update') {
      const old = table.get(w.id);
      if (old === undefined) return Promise.resolve();
      const doc = { ...old, ...structuredClone(w.set) };
      table.set(w.id, doc);
      this.send({ op: 'upsert', channel: w.channel, doc });
    } else {
      if (!table.delete(w.id)) return Promise.resolve();
      this.send(w);
    }
    return Promise.resolve();
  }

  docs(channel: string): Promise<Doc[]> {
    return Promise.resolve([...(this.tables.get(channel)?.values() ?? [])]);
  }

  async startServer(port: number): Promise<ServerHandle> {
    const seedFile = join(this.dir, `seed-${++this.started}.json`);
    writeFileSync(seedFile, JSON.stringify(Object.fromEntries([...this.tables].map(([c, t]) => [c, [...t.values()]]))));
    // Everything written so far is in the seed; what comes while it starts is queued and sent once it listens.
    this.queued = [];
    this.ready = false;
    const options = { ...this.serverOptions, port };
    const server = await startProcess(['test/support/faults/truth-server.ts', seedFile, JSON.stringify(options)], { ipc: true });
    this.current = server;
    this.ready = true;
    for (const w of this.queued.splice(0)) server.proc.send(w);
    return {
      proc: server.proc,
      port: server.port,
      output: server.output,
      kill: async () => {
        if (this.current === server) this.ready = false;
        await server.stop('SIGKILL');
      },
    };
  }

  async dispose(): Promise<void> {
    this.ready = false;
    await this.current?.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private send(w: ServerWrite): void {
    if (this.ready && this.current?.proc.connected) this.current.proc.send(w);
    else this.queued.push(w);
  }
}
