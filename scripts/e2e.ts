/**
 * `npm run e2e`: runs the Playwright projects (`mock`, `real`) with Debian's Chromium. What is missing is said
 * out loud: without Chromium the e2e run is skipped, without RabbitMQ the `real` project is — except under
 * `CI=true`, where a missing service is a failure (CI must never pass by skipping).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection } from 'node:net';

const ci = process.env.CI === 'true';
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function missing(what: string): void {
  const line = `e2e: ${what}`;
  if (ci) {
    process.stderr.write(`\n${line}\nCI=true: a missing service is a failure, not a skip. .ci/run installs and starts it.\n`);
    process.exit(1);
  }
  process.stdout.write(`\n==> SKIPPED ${line}\n\n`);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      return resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      return resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

if (!executable(chromium)) {
  missing(`Chromium not found at ${chromium} (install Debian's: apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(0);
}
const amqp = new URL(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const projects = ['--project', 'mock'];
if (await reachable(amqp.hostname, Number(amqp.port || 5672))) projects.push('--project', 'real');
else missing(`the "real" project needs RabbitMQ at ${amqp.hostname}:${amqp.port || 5672}, which is not reachable`);

const result = spawnSync('npx', ['playwright', 'test', ...projects, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
