/**
 * The size half of the house layout (docs/architecture.md "Source layout"): no source file or test helper over 400 lines, counted
 * as `wc -l` counts them, and test helpers only in test/support/. The files come from `git ls-files`, so the
 * check covers what a clone holds — sources, bench, scripts, the playground, e2e fixtures, test/support/ — and
 * nothing generated or ignored. Test files themselves (`*.test.ts`, Playwright's `*.spec.ts`) are exempt: one per
 * module, they grow with what they test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The most lines a file that is not a test may have. */
const MAX_LINES = 400;
/** Where test helpers used to live before test/support/; nothing may come back there. */
const OLD_HELPER_FOLDERS = ['client/test-helpers', 'server/hub/test-helpers'];

/** Every path git tracks in this checkout (a tracked file deleted in the work tree is left out: it is going). */
function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((path) => path !== '' && existsSync(join(ROOT, path)));
}

/** A TypeScript file the size rule applies to: `.ts` or `.tsx`, and not a test file. */
function isCounted(path: string): boolean {
  return /\.tsx?$/.test(path) && !/\.(test|spec)\.tsx?$/.test(path);
}

/** Lines as `wc -l` counts them: newline characters. */
function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** `path: N lines` for every counted file over `MAX_LINES`, in the order given. */
function oversized(paths: readonly string[], read: (path: string) => string): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (!isCounted(path)) continue;
    const lines = lineCount(read(path));
    if (lines > MAX_LINES) out.push(`${path}: ${lines} lines (at most ${MAX_LINES})`);
  }
  return out;
}

/** What is left in `dir`: the tracked paths under it, and every file under it on disk in `root` (untracked ones too). */
function leftovers(root: string, dir: string, tracked: readonly string[]): string[] {
  const found = new Set(tracked.filter((path) => path.startsWith(`${dir}/`)));
  const full = join(root, dir);
  if (existsSync(full)) {
    for (const entry of readdirSync(full, { recursive: true, withFileTypes: true })) {
      if (!entry.isDirectory()) found.add(relative(root, join(entry.parentPath, entry.name)));
    }
  }
  return [...found].sort();
}

const lines = (n: number): string => 'x\n'.repeat(n);

describe('layout: file sizes', () => {
  it('counts lines as wc -l does', () => {
    expect(lineCount('')).toBe(0);
    expect(lineCount('no newline')).toBe(0);
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(1);
  });

  it('applies to sources, helpers, scripts and .tsx, not to test files', () => {
    expect(['server/hub/hub.ts', 'test/support/wait.ts', 'e2e/fixtures.ts', 'playground/src/app.tsx'].map(isCounted)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(
      ['server/hub/hub.test.ts', 'test/broker-faults.serial.test.ts', 'e2e/playground.spec.ts', 'README.md', 'a.json'].map(isCounted),
    ).toEqual([false, false, false, false, false]);
  });

  it('names each planted file over 400 lines and lets 400 lines and test files pass', () => {
    const tree: Record<string, string> = {
      'server/big.ts': lines(401),
      'bench/run.ts': lines(705),
      'playground/src/view.tsx': lines(450),
      'server/edge.ts': lines(400),
      'server/big.test.ts': lines(2000),
      'e2e/long.spec.ts': lines(900),
      'guide/long.md': lines(900),
    };
    expect(oversized(Object.keys(tree), (path) => tree[path]!)).toEqual([
      'server/big.ts: 401 lines (at most 400)',
      'bench/run.ts: 705 lines (at most 400)',
      'playground/src/view.tsx: 450 lines (at most 400)',
    ]);
  });

  it('no tracked source file or test helper is over 400 lines', () => {
    const files = trackedFiles();
    // A check that found nothing to count would pass on anything: make sure it sees the tree.
    expect(files.filter(isCounted).length).toBeGreaterThan(100);
    expect(files).toContain('server/hub/hub.ts');
    expect(oversized(files, (path) => readFileSync(join(ROOT, path), 'utf8'))).toEqual([]);
  });
});

describe('layout: test helpers live in test/support/', () => {
  it('finds a planted leftover, tracked or only on disk', () => {
    const root = mkdtempSync(join(tmpdir(), 'monorail-layout-'));
    try {
      mkdirSync(join(root, 'server/hub/test-helpers/deep'), { recursive: true });
      writeFileSync(join(root, 'server/hub/test-helpers/deep/untracked.ts'), lines(1));
      mkdirSync(join(root, 'client/test-helpers'), { recursive: true }); // an empty folder holds no file
      const tracked = ['client/test-helpers/old.ts', 'client/test-helpers-not.ts', 'test/support/wait.ts'];
      expect(leftovers(root, 'client/test-helpers', tracked)).toEqual(['client/test-helpers/old.ts']);
      expect(leftovers(root, 'server/hub/test-helpers', tracked)).toEqual(['server/hub/test-helpers/deep/untracked.ts']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each(OLD_HELPER_FOLDERS)('%s holds no file, tracked or not', (dir) => {
    expect(leftovers(ROOT, dir, trackedFiles())).toEqual([]);
  });

  it('test/support/ is where the helpers are', () => {
    expect(trackedFiles().filter((path) => path.startsWith('test/support/') && isCounted(path)).length).toBeGreaterThan(10);
  });
});
