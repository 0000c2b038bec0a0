/**
 * `npm run bench`: every scenario of issue 7, with the baselines (a raw `ws` broadcast server, Socket.IO 4
 * websocket-only) in the same run, the server and the client load in separate processes. Prints one JSON line
 * per scenario and target as it finishes, then a table. Sizes come from environment variables (bench/config.ts).
 *
 * This file reads the configuration and runs the scenarios in order: fan-out and RabbitMQ in fanout.ts, filtered
 * watches in filtered.ts, the reconnect storm in storm.ts, resume after a drop and a restart in resume.ts, store, bundle size and memory in footprint.ts; what they
 * share (child processes, measured rounds) is in harness.ts and deliveries.ts.
 */
import { readdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { benchConfig, type BenchConfig } from './config.js';
import { fanout } from './fanout.js';
import { filtered } from './filtered.js';
import { memory, size, store } from './footprint.js';
import { type Bench, bundle, log, PROFILES, type Target } from './harness.js';
import { printTable, type Row } from './report.js';
import { resumeStorm } from './resume.js';
import { storm } from './storm.js';

const cfg: BenchConfig = benchConfig();
const rows: Row[] = [];
const bench: Bench = {
  cfg,
  runId: `${Date.now().toString(36)}${process.pid}`,
  emitRow(row: Row): void {
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  },
};
const TARGETS = cfg.targets as Target[];

const started = Date.now();
log(
  `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
await bundle();
for (let run = 1; run <= cfg.repeat; run++) {
  for (const scenario of cfg.scenarios) {
    log(`run ${run}: ${scenario}`);
    switch (scenario) {
      case 'fanout':
        for (const t of TARGETS) await fanout(bench, run, t, 'max');
        for (const rate of cfg.rates) for (const t of TARGETS) await fanout(bench, run, t, 'rate', rate);
        break;
      case 'filtered':
        for (const w of cfg.filteredWatches) await filtered(bench, run, w);
        break;
      case 'storm':
        for (const w of cfg.stormWindows) await storm(bench, run, w);
        break;
      case 'resume':
        await resumeStorm(bench, run);
        break;
      case 'amqp':
        for (const t of TARGETS) await fanout(bench, run, t, 'amqp', cfg.rates[0]!);
        break;
      case 'store':
        await store(bench, run);
        break;
      case 'size':
        await size(bench, run);
        break;
      case 'memory':
        for (const t of TARGETS) await memory(bench, run, t);
        break;
      default:
        throw new Error(`unknown scenario "${scenario}"`);
    }
  }
}
printTable(rows, cfg);
if (cfg.profile)
  log(
    `CPU profiles: ${readdirSync(PROFILES)
      .map((f) => `${PROFILES}/${f}`)
      .join(', ')}`,
  );
log(
  `done in ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
