/**
 * The docs cite the code's tables; these tests keep them from drifting apart (graphql-ws's docs drifted from
 * its enum — not here). They also keep the README short and every link between the docs, and every doc a source
 * comment cites, pointing at something that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { markdownTable, readFigures, renderChart, CHART_FILE } from '../bench/chart.js';
import { CLOSE_CODES, CLIENT_HANDLERS, DEFAULTS, ERROR_CODES, SERVER_HANDLERS } from '../protocol/index.js';
import { DEFAULT_CHANNELS } from '../server/hub/channels.js';
import { OPTIONAL_PACKAGES, SERVER_INSTALL } from '../server/hub/optional-packages.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const protocolMd = read('PROTOCOL.md');
const readme = read('README.md');

/** Every Markdown page of the project: the README, PROTOCOL.md, docs/ and the benchmarks' README. */
const PAGES = [
  'README.md',
  'PROTOCOL.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'bench/README.md',
];

/** The text of a page outside fenced code blocks (a `#` line in a shell example is not a heading). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens, `-1`, `-2` … for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let unique = slug;
    for (let n = 1; seen.has(unique); n++) unique = `${slug}-${n}`;
    seen.add(unique);
  }
  return seen;
}

/** The relative links and images of a page (inline code and code blocks left out), as written. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const line of prose(markdown)) {
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/.test(target!)) links.push(target!);
    }
  }
  return links;
}

describe('PROTOCOL.md', () => {
  it.each(Object.entries(CLOSE_CODES))('lists close code %s with its meaning and retry rule', (code, { meaning, retry }) => {
    const row = protocolMd.split('\n').find((l) => l.startsWith(`| ${code} |`));
    expect(row, `row for ${code}`).toBeDefined();
    expect(row).toContain(meaning);
    expect(row).toMatch(retry ? /\| yes/ : /\| no/);
  });

  it.each(Object.entries(ERROR_CODES))('lists error code %s with its meaning', (code, meaning) => {
    expect(protocolMd).toContain(`| \`${code}\` | ${meaning} |`);
  });

  it.each([...CLIENT_HANDLERS, ...SERVER_HANDLERS])('documents the %s message', (handler) => {
    expect(protocolMd).toContain(`### \`${handler}\``);
  });

  it('states every bound of the input budget with its default from DEFAULTS', () => {
    const section = protocolMd.split('### The input budget')[1]!.split('\n## ')[0]!;
    for (const [bound, value] of Object.entries(DEFAULTS.inputBudget)) {
      expect(section).toContain(`| \`${bound}\` | ${value.toLocaleString('en-US')} |`);
    }
  });

  it('states the default maxPayload and list cap', () => {
    expect(DEFAULTS.maxPayload).toBe(1024 * 1024);
    expect(protocolMd).toContain('1 MiB');
    expect(protocolMd).toContain(DEFAULTS.maxListItems.toLocaleString('en-US'));
  });
});

describe('README.md', () => {
  it('starts with exactly two set-up commands', () => {
    expect(prose(readme).find((l) => l.startsWith('## '))).toBe('## Set up on a fresh machine');
    const section = readme.split('## Set up on a fresh machine')[1]!.split('```sh')[1]!.split('```')[0]!;
    const commands = section.split('\n').filter((l) => l.trim() !== '');
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^npm install && npm start/);
    expect(commands[1]).toMatch(/^bash \.ci\/run/);
  });

  it('is at most 200 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
  });

  it('links every page of docs/, PROTOCOL.md and bench/README.md', () => {
    const linked = new Set(relativeLinks(readme).map((l) => l.split('#')[0]));
    for (const page of PAGES.filter((p) => p !== 'README.md')) expect(linked, page).toContain(page);
  });
});

describe('install commands', () => {
  it.each(['README.md', 'docs/client.md', 'docs/server.md'])(
    '%s gives the browser app’s and the server’s, the latter as server/hub/optional-packages.ts builds it',
    (page) => {
      const text = read(page);
      expect(text).toMatch(/^npm install monorail-ws +# a browser app/m);
      expect(text).toContain(SERVER_INSTALL);
    },
  );

  it('docs/server.md lists every optional package with what needs it', () => {
    const section = read('docs/server.md').split('## Install')[1]!.split('\n## ')[0]!;
    for (const name of Object.keys(OPTIONAL_PACKAGES)) expect(section).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });
});

describe('links between the docs', () => {
  it.each(PAGES)('every relative link in %s names an existing file, and a heading where it names an anchor', (page) => {
    const links = relativeLinks(read(page));
    expect(links.length, `${page} links to nothing`).toBeGreaterThan(0);
    for (const link of links) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), path));
      expect(existsSync(join(ROOT, target)), `${page}: ${link} → ${target}`).toBe(true);
      if (anchor !== undefined) expect(anchors(read(target)), `${page}: ${link}`).toContain(anchor);
    }
  });

  it('the link check itself: slugs as GitHub makes them, code left out', () => {
    expect(anchors("# Server: `monorail-ws serve` / `createServer(options)`\n## The store's scopes\n## A\n## A")).toEqual(
      new Set(['server-monorail-ws-serve--createserveroptions', 'the-stores-scopes', 'a', 'a-1']),
    );
    expect(anchors('```sh\n# a comment\n```\n## Real')).toEqual(new Set(['real']));
    expect(relativeLinks('[a](x.md#b) `[c](y.md)` [d](https://e.example)\n```\n[f](z.md)\n```')).toEqual(['x.md#b']);
  });
});

describe('docs/client.md', () => {
  it('states the client defaults from DEFAULTS', () => {
    const client = read('docs/client.md');
    const b = DEFAULTS.backoff;
    expect(client).toContain(
      `{baseMs: ${b.baseMs}, maxMs: ${b.maxMs}, factor: ${b.factor}, jitter: ${b.jitter}, resetAfterMs: ${b.resetAfterMs}}`,
    );
    expect(client).toContain(`| \`maxQueue\` | ${DEFAULTS.maxQueue} |`);
    expect(client).toContain(`{pingAfterMs: ${DEFAULTS.clientPingAfterMs}, timeoutMs: ${DEFAULTS.clientPongTimeoutMs}}`);
  });

  it('"Typed records and filters" gives every channel a row with its aliases and id field', () => {
    const client = read('docs/client.md');
    const section = client.slice(client.indexOf('## Typed records and filters'), client.indexOf('## State and events'));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    for (const spec of DEFAULT_CHANNELS) {
      const row = rows.find((line) => line.split('|')[1]!.includes(`\`${spec.name}\``));
      expect(row, `row for ${spec.name}`).toBeDefined();
      for (const alias of spec.aliases ?? []) expect(row).toContain(`\`${alias}\``);
      expect(row!.split('|')[3]!.trim()).toMatch(new RegExp(`^\`${spec.idField}\``));
    }
  });
});

describe('docs/client.md "React, Vue, Svelte"', () => {
  /** The contents of every fenced code block of a page. */
  const codeBlocks = (markdown: string): string[] => [...markdown.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

  it.each(['vue-use-live.ts', 'svelte-live-store.ts'])('shows the recipe test/recipes.test.ts runs: test/support/recipes/%s', (file) => {
    // The file as the page prints it: without its header comment (which says where it is shown), importing the package.
    const tested = read(`test/support/recipes/${file}`)
      .replace(/^\/\*\*[\s\S]*?\*\/\n/, '')
      .replaceAll("'../../../client/index.js'", "'monorail-ws/client'");
    expect(tested).toContain('monorail-ws/client');
    expect(codeBlocks(read('docs/client.md'))).toContain(tested);
  });

  it('no longer binds the store during render (React subscribed again on every render)', () => {
    for (const page of ['README.md', 'docs/client.md']) expect(read(page), page).not.toContain('subscribe.bind(');
  });
});

describe('docs/rackhd.md', () => {
  it('lists every default channel', () => {
    const rackhd = read('docs/rackhd.md');
    for (const spec of DEFAULT_CHANNELS) expect(rackhd).toContain(`| \`${spec.name}\``);
  });
});

describe('bench/README.md', () => {
  const figures = readFigures();

  it('shows the table of bench/latest.json', () => {
    expect(read('bench/README.md')).toContain(markdownTable(figures));
  });

  it('shows the chart of bench/latest.json (npx tsx bench/chart.ts redraws it)', () => {
    expect(readFileSync(CHART_FILE, 'utf8')).toBe(renderChart(figures));
  });
});

describe('source comments', () => {
  const SOURCE_DIRS = ['protocol', 'client', 'server', 'mock', 'react', 'test', 'bench', 'e2e', 'scripts', 'playground'];
  const sources = SOURCE_DIRS.flatMap((dir) =>
    (readdirSync(join(ROOT, dir), { recursive: true }) as string[]).filter((f) => /\.tsx?$/.test(f)).map((f) => `${dir}/${f}`),
  );
  // A doc named at the start of a path (not `../x.md`, not `package/x.md`), with an optional quoted section.
  const CITATION = /(?<![\w/.-])((?:docs|bench)\/[\w.-]+\.md|[A-Z][A-Z_]*\.md)(?: "([^"]+)")?/g;

  it('cite only docs that exist in the repository, and sections those docs have', () => {
    let citations = 0;
    for (const file of sources) {
      for (const [, doc, section] of read(file).matchAll(CITATION)) {
        citations++;
        expect(existsSync(join(ROOT, doc!)), `${file} cites ${doc}`).toBe(true);
        if (section === undefined) continue;
        // A quote may wrap onto the next comment line: compare it with the comment markers and spacing folded.
        const quoted = section.replace(/\s*\n\s*(?:\*|\/\/)?\s*/g, ' ');
        const headings = prose(read(doc!))
          .filter((l) => /^#{1,6} /.test(l))
          .map((l) => l.replace(/^#+ /, '').replace(/`/g, ''));
        expect(
          headings.some((h) => h.startsWith(quoted)),
          `${file} cites ${doc} "${quoted}"`,
        ).toBe(true);
      }
    }
    expect(citations).toBeGreaterThan(10);
  });
});
