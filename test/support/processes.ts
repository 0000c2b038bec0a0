/**
 * Starting the real server as a child process (the CLI, through tsx), for tests that kill, restart or signal
 * it. Processes are stopped by their own pid; nothing is left running after a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A server process started by `startServer`. */
export interface ServerProcess {
  readonly proc: ChildProcess;
  /** `ws://host:port` (or `mongodb://host:port`) from the "listening on" line. */
  readonly url: string;
  readonly port: number;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * The environment a child gets: ours, minus the variables that switch the server's backends (a test run with
 * `MONGODB_URL` set, for the Mongo suite, must not turn every other spawned server into a MongoDB one), plus `env`.
 */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { MONGODB_URL: _m, AMQP_URL: _a, ...rest } = process.env;
  return { ...rest, ...env };
}

/** Runs `monorail-ws serve ARGS` from source and resolves once it listens. */
export async function startServer(args: string[] = [], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ServerProcess> {
  return startProcess(['server/cli/cli.ts', 'serve', ...args], { env, timeoutMs });
}

/**
 * Runs the wire-level MongoDB test server as its own process (a source of truth that outlives server restarts);
 * `url` is `mongodb://host:port` (append the database). With `ipc`, `proc.send({op: 'stop' | 'resume'})` takes it
 * down and back (see `mongo-wire/main.ts`).
 */
export async function startMongoWireServer(
  args: string[] = [],
  { timeoutMs = 20_000, ipc = false }: { timeoutMs?: number; ipc?: boolean } = {},
): Promise<ServerProcess> {
  return startProcess(['test/support/mongo-wire/main.ts', ...args], { timeoutMs, ipc, ready: /listening on (mongodb:\/\/\S+)/ });
}

/**
 * Takes a wire server started with `ipc` down (`'stop'`: it stops listening and drops every connection, data kept)
 * or back up (`'resume'`, same port); resolves once that took effect.
 */
export async function controlMongoWireServer(server: ServerProcess, op: 'stop' | 'resume'): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    const onMessage = (m: { op?: unknown; done?: unknown }) => {
      if (m.op !== op || m.done !== true) return;
      server.proc.off('message', onMessage);
      resolve();
    };
    server.proc.on('message', onMessage);
    void server.exited.then((code) => reject(new Error(`the wire server exited with ${code} before it would ${op}`)));
  });
  server.proc.send({ op });
  await done;
}

/** Options of `startProcess`. */
export interface StartOptions {
  /** Variables added to the child's environment. */
  env?: Record<string, string>;
  /** How long the child may take to print its ready line. @default 20 s */
  timeoutMs?: number;
  /** Open an IPC channel (`proc.send`). @default false */
  ipc?: boolean;
  /** The ready line; its first group is the URL. @default `listening on ws://…` */
  ready?: RegExp;
  /** Flags for node itself, before the script (`--expose-gc`, `--max-old-space-size=256`). @default none */
  nodeFlags?: string[];
  /**
   * The child's limit of open files (`ulimit -n`): it is then started through `bash -c 'ulimit -n N; exec node …'`,
   * so its pid is still node's own.
   * @default the parent's limit
   */
  fileLimit?: number;
}

/**
 * Runs a TypeScript entry point of this repository (`script, ...args`, through tsx) and resolves once it prints
 * its "listening on <url>" line (`ready`). `ipc` opens an IPC channel (`proc.send`).
 */
export async function startProcess(
  argv: string[],
  { env = {}, timeoutMs = 20_000, ipc = false, ready = /listening on (ws:\/\/\S+)/, nodeFlags = [], fileLimit }: StartOptions = {},
): Promise<ServerProcess> {
  const args = argv;
  const nodeArgs = [...nodeFlags, '--import', 'tsx', ...argv];
  // `exec` replaces bash with node ("$0" "$@" pass the arguments through unquoted), keeping the pid and the IPC fd.
  const [command, commandArgs] =
    fileLimit === undefined
      ? [process.execPath, nodeArgs]
      : ['bash', ['-c', `ulimit -n ${fileLimit} && exec "$0" "$@"`, process.execPath, ...nodeArgs]];
  const proc: ChildProcess = spawn(command, commandArgs, {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stderr!.on('data', check);
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    proc,
    url,
    port: Number(new URL(url.replace(/^\w+:/, 'http:')).port),
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
