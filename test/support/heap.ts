/**
 * "Heap after a full GC", for tests that bound what something keeps (issue 10: every cache bounded). The heap a
 * process uses at some instant mixes what is retained with garbage not collected yet; only after a full
 * (mark-compact) collection does `heapUsed` say what is still reachable. Tests run without `--expose-gc`, so the
 * flag is set at run time: V8 then installs `gc` in every context created afterwards, and a fresh `vm` context
 * hands it over. Node only: this file is for tests and benchmarks.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** V8's `gc()`: the global one when the process runs with `--expose-gc`, otherwise one from a fresh context. */
function gcFunction(): () => void {
  if (collect) return collect;
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return (collect = global);
  setFlagsFromString('--expose-gc');
  return (collect = runInNewContext('gc') as () => void);
}

/**
 * Bytes of heap in use after full collections. Collects, lets pending callbacks and microtasks run (sockets that
 * closed, promise chains that end and drop what they held), and collects again until two readings agree within
 * 64 KB or five rounds passed, so what is left is what something still references.
 */
export async function heapAfterGc(): Promise<number> {
  const gc = gcFunction();
  let last = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
    gc();
    const used = process.memoryUsage().heapUsed;
    if (Math.abs(used - last) < 64 * 1024) return used;
    last = used;
  }
  return last;
}

/**
 * How much `run` leaves behind: the heap after a full GC once it has finished, minus the heap after a full GC
 * before it started. What `run` returns is dropped before the second reading.
 */
export async function retainedBy(run: () => unknown): Promise<number> {
  const before = await heapAfterGc();
  await run();
  return (await heapAfterGc()) - before;
}

/** `n` bytes in MiB with one decimal, for messages. */
export function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
