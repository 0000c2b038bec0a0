/**
 * Request/response over Node's IPC channel between the orchestrator and its child processes (bench servers,
 * load generators). A request is `{id, type, ...}`, its answer `{re: id, result}` or `{re: id, error}`; a child
 * may also push events `{event, ...}` (progress, ready).
 */
import { spawn, type ChildProcess } from 'node:child_process';

type Json = Record<string, unknown>;

/** A child process started by `startChild`. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Sends a request and resolves with the child's result. */
  request<T = Json>(type: string, body?: Json, timeoutMs?: number): Promise<T>;
  /** Registers a listener for pushed events of one type. */
  on(event: string, listener: (body: Json) => void): void;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** What the child wrote to stderr so far. */
  stderr(): string;
}

/** Starts `node [nodeArgs] script`, with an IPC channel; resolves once the child says it is `ready`. */
export async function startChild(name: string, script: string, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, script], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const listeners = new Map<string, Set<(body: Json) => void>>();
  let next = 1;
  proc.on('message', (raw) => {
    const msg = raw as Json;
    if (typeof msg.re === 'number') {
      const p = pending.get(msg.re);
      if (!p) return;
      pending.delete(msg.re);
      clearTimeout(p.timer);
      if (typeof msg.error === 'string') p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.result);
    } else if (typeof msg.event === 'string') {
      for (const l of listeners.get(msg.event) ?? []) l(msg);
    }
  });
  void exited.then((code) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${name} exited (${code}) with a request pending:\n${err.slice(-4000)}`));
    }
    pending.clear();
  });
  const child: Child = {
    name,
    proc,
    pid: proc.pid!,
    request<T>(type: string, body: Json = {}, timeoutMs = 120_000): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: "${type}" did not answer within ${timeoutMs} ms\n${err.slice(-4000)}`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        proc.send({ ...body, id, type });
      });
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    stderr: () => err,
  };
  await new Promise<void>((resolve, reject) => {
    child.on('ready', () => resolve());
    void exited.then((code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${err.slice(-4000)}`)));
  });
  return child;
}

/** Child side: answers the orchestrator's requests with `handlers` and announces `ready`. */
export function serveRequests(handlers: Record<string, (body: Json) => unknown>): void {
  process.on('message', (raw) => {
    const msg = raw as Json;
    const handler = handlers[msg.type as string];
    const id = msg.id as number;
    if (!handler) {
      process.send!({ re: id, error: `unknown request "${String(msg.type)}"` });
      return;
    }
    Promise.resolve()
      .then(() => handler(msg))
      .then(
        (result) => process.send!({ re: id, result: result ?? null }),
        (e: unknown) => process.send!({ re: id, error: (e as Error)?.stack ?? String(e) }),
      );
  });
  // The orchestrator going away must take its children with it.
  process.on('disconnect', () => process.exit(0));
  process.send!({ event: 'ready' });
}

/** Child side: pushes an event to the orchestrator. */
export function emit(event: string, body: Json = {}): void {
  process.send?.({ ...body, event });
}
