/**
 * `npm start`: the server on the embedded memory backend with the demo simulator and resume on, plus the playground
 * (Vite) pointed at it. Prints the URL to open; Ctrl-C stops both.
 *
 * Resume is on here (the server's default is off, docs/server.md "Resume" says why): the playground's clients then
 * come back from a dropped connection with only what they missed, and the server's log says so at `debug` level.
 *
 * Env: PORT (server, default 9100), HOST (default 127.0.0.1), PLAYGROUND_PORT (default 5173).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer as createVite } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '9100';

const server = spawn(
  process.execPath,
  ['--import', 'tsx', 'server/cli/cli.ts', 'serve', '--demo', '--resume', '--host', host, '--port', port],
  {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
  },
);

const serverUrl = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    out += chunk.toString();
    const m = /listening on (ws:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
});

const vite = await createVite({
  configFile: `${root}vite.config.ts`,
  server: { host, port: Number(process.env.PLAYGROUND_PORT ?? 5173) },
  logLevel: 'warn',
});
await vite.listen();
const page = `${vite.resolvedUrls?.local[0] ?? `http://${host}:5173/`}?backend=${encodeURIComponent(serverUrl)}`;
process.stdout.write(
  `\n  monorail-ws server  ${serverUrl}  (memory backend, demo simulator, resume on)\n  playground          ${page}\n\n  open the playground URL in a browser; Ctrl-C stops both\n\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  if (server.exitCode === null) server.kill('SIGTERM');
  await vite.close();
  await new Promise((resolve) => (server.exitCode === null ? server.once('exit', resolve) : resolve(undefined)));
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
server.on('exit', () => void stop());
