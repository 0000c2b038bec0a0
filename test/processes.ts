/**
 * Starting the real server as a child process (the CLI, through tsx), for tests that kill, restart or signal
 * it. Processes are stopped by their own pid; nothing is left running after a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A server process started by `startServer`. */
export interface ServerProcess {
  readonly proc: ChildProcess;
  /** `ws://host:port` from the "listening on" line. */
  readonly url: string;
  readonly port: number;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs `monorail-ws serve ARGS` from source and resolves once it listens. */
export async function startServer(args: string[] = [], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ServerProcess> {
  return startProcess(['server/cli.ts', 'serve', ...args], { env, timeoutMs });
}

/**
 * Runs a TypeScript entry point of this repository (`script, ...args`, through tsx) that prints
 * "listening on ws://…", and resolves once it does. `ipc` opens an IPC channel (`proc.send`).
 */
export async function startProcess(
  argv: string[],
  { env = {}, timeoutMs = 20_000, ipc = false }: { env?: Record<string, string>; timeoutMs?: number; ipc?: boolean } = {},
): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stderr!.on('data', check);
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    proc,
    url,
    port: Number(new URL(url.replace('ws:', 'http:')).port),
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
