/**
 * `npm run e2e` says out loud what it cannot run: without Chromium it skips with a visible reason, except under
 * CI=true, where a missing browser is a failure (CI must never pass by skipping).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runE2e(env: Record<string, string>) {
  const { CI: _ci, ...rest } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/e2e.ts'], {
    cwd: ROOT,
    env: { ...rest, CHROMIUM_PATH: '/nonexistent/chromium', ...env },
    encoding: 'utf8',
  });
}

describe('npm run e2e without Chromium', () => {
  it('skips with a visible reason outside CI', () => {
    const r = runE2e({});
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SKIPPED e2e: Chromium not found at /nonexistent/chromium');
  });

  it('fails under CI=true', () => {
    const r = runE2e({ CI: 'true' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Chromium not found');
    expect(r.stderr).toContain('a missing service is a failure');
  });
});
