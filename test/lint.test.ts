/**
 * The layout rule of docs/architecture.md is enforced by `npm run lint` (Biome's `noRestrictedImports` per folder
 * and `noImportCycles`, `import type` included). These tests run Biome with the repository's own `biome.json` on a
 * small planted tree in a temporary folder: each violation must fail the lint, and the allowed imports must pass,
 * so a rule that silently stopped matching (a renamed folder, a glob that no longer applies) fails here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Lints `files` (path → source) laid out in a fresh folder with the repository's biome.json; exit code and output. */
function lint(files: Record<string, string>): { code: number | null; output: string } {
  dir = mkdtempSync(join(tmpdir(), 'monorail-lint-'));
  const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
  delete config.$schema;
  config.vcs = { enabled: false }; // the temporary folder is no git checkout
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  const run = spawnSync(BIOME, ['lint', '--max-diagnostics=200', '.'], { cwd: dir, encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A tree that keeps every rule: each folder imports only what it may. */
const ALLOWED: Record<string, string> = {
  'protocol/index.ts': 'export const p = 1;\n',
  'client/store.ts': "import { p } from '../protocol/index.js';\n\nexport const s = p;\n",
  'server/hub/hub.ts': "import { p } from '../../protocol/index.js';\n\nexport const h = p;\n",
  'server/sources/memory.ts': "import { h } from '../hub/hub.js';\n\nexport const m = h;\n",
  'server/demo/simulator.ts': "import { h } from '../hub/hub.js';\n\nexport const d = h;\n",
  'server/security/admission.ts': "import { h } from '../hub/hub.js';\n\nexport const a = h;\n",
  'server/ws/transport.ts':
    "import { WebSocketServer } from 'ws';\nimport { h } from '../hub/hub.js';\nimport { a } from '../security/admission.js';\n\nexport const t = [WebSocketServer, h, a];\n",
  'server/feeds/feed.ts': "import amqp from 'amqplib';\nimport { h } from '../hub/hub.js';\n\nexport const f = [amqp, h];\n",
  'server/sources/mongo.ts':
    "import { MongoClient } from 'mongodb';\nimport { h } from '../hub/hub.js';\n\nexport const g = [MongoClient, h];\n",
  'mock/mock-server.ts':
    "import { h } from '../server/hub/hub.js';\nimport { m } from '../server/sources/memory.js';\nimport { d } from '../server/demo/simulator.js';\n\nexport const x = [h, m, d];\n",
  'react/index.ts':
    "import { useState } from 'react';\nimport { s } from '../client/store.js';\nimport { p } from '../protocol/index.js';\n\nexport const r = [useState, s, p];\n",
};

function expectViolation(extra: Record<string, string>, file: string, rule: string): void {
  const { code, output } = lint({ ...ALLOWED, ...extra });
  expect(code, output).not.toBe(0);
  expect(output).toContain(file);
  expect(output).toContain(rule);
}

describe('npm run lint: the layout rule', () => {
  it('passes a tree in which every folder imports only what it may', () => {
    const { code, output } = lint(ALLOWED);
    expect(code, output).toBe(0);
  });

  it.each([
    ['protocol/bad.ts', "import { s } from '../client/store.js';\n\nexport const b = s;\n"],
    ['client/bad.ts', "import { h } from '../server/hub/hub.js';\n\nexport const b = h;\n"],
    ['client/bad.ts', "import { readFileSync } from 'node:fs';\n\nexport const b = readFileSync;\n"],
    ['server/hub/bad.ts', "import { t } from '../ws/transport.js';\n\nexport const b = t;\n"],
    ['server/hub/bad.ts', "import { WebSocket } from 'ws';\n\nexport const b = WebSocket;\n"],
    ['server/sources/memory-bad.ts', "import { t } from '../ws/transport.js';\n\nexport const b = t;\n"],
    ['server/demo/bad.ts', "import { MongoClient } from 'mongodb';\n\nexport const b = MongoClient;\n"],
    ['mock/bad.ts', "import { t } from '../server/ws/transport.js';\n\nexport const b = t;\n"],
    ['server/ws/bad.ts', "import { s } from '../../client/store.js';\n\nexport const b = s;\n"],
    ['server/security/bad.ts', "import { t } from '../ws/transport.js';\n\nexport const b = t;\n"],
    ['server/feeds/bad.ts', "import { t } from '../ws/transport.js';\n\nexport const b = t;\n"],
    ['server/sources/mongo-bad.ts', "import { f } from '../feeds/feed.js';\n\nexport const b = f;\n"],
    ['server/ws/bad.ts', "import { f } from '../feeds/feed.js';\n\nexport const b = f;\n"],
    ['server/bad.ts', "import type { x } from '../mock/mock-server.js';\n\nexport type B = typeof x;\n"],
    ['server/ws/bad.ts', "import { waitFor } from '../../test/support/wait.js';\n\nexport const b = waitFor;\n"],
    ['react/bad.ts', "import { h } from '../server/hub/hub.js';\n\nexport const b = h;\n"],
    ['react/bad.ts', "import { x } from '../mock/mock-server.js';\n\nexport const b = x;\n"],
  ])('fails on a planted import that crosses the wrong way: %s', (file, source) => {
    expectViolation({ [file]: source }, file, 'noRestrictedImports');
  });

  it('fails on an import cycle, also when one side is `import type`', () => {
    expectViolation(
      {
        'server/hub/a.ts': "import type { B } from './b.js';\n\nexport const a: B = 1;\n",
        'server/hub/b.ts': "import { a } from './a.js';\n\nexport type B = 1;\nexport const b = a;\n",
      },
      'server/hub/a.ts',
      'noImportCycles',
    );
  });
});
