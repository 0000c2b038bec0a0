/**
 * A server process for fault tests: `createServer` on the memory backend, seeded from a JSON file, applying the
 * writes its parent sends over IPC (`{op: 'upsert', channel, doc}` / `{op: 'remove', channel, id}`). The parent
 * keeps the source of truth, so killing this process loses nothing the next one is not seeded with.
 *
 * Usage (by `MemoryTruth` in faults/memory-truth.ts): node --import tsx test/support/faults/truth-server.ts SEED_FILE [server options JSON]
 */
import { readFileSync } from 'node:fs';
import type { Doc } from '../../../protocol/index.js';
import { createServer } from '../../../server/index.js';

type Write = { op: 'upsert'; channel: string; doc: Doc } | { op: 'remove'; channel: string; id: string };

const [seedFile, optionsJson] = process.argv.slice(2);
const seed = JSON.parse(readFileSync(seedFile!, 'utf8')) as Record<string, Doc[]>;
const server = await createServer({ port: 0, seed, ...(optionsJson ? (JSON.parse(optionsJson) as object) : {}) });
process.on('message', (w: Write) => {
  if (w.op === 'upsert') server.backend!.upsert(w.channel, w.doc);
  else server.backend!.remove(w.channel, w.id);
});
process.on('disconnect', () => process.exit(0));
process.stdout.write(`listening on ${server.url}\n`);
