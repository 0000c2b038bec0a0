/**
 * The latest figures of `npm run bench`, in the two forms bench/README.md shows: the table of every scenario
 * against its target, and a bar chart of the ratios to raw `ws` (`bench/latest.svg`). Both are rendered from one
 * file, `bench/latest.json`, so they cannot disagree; test/docs.test.ts checks that the README holds this table
 * and that the SVG is what this renders.
 *
 * After a new run: update bench/latest.json, then `npx tsx bench/chart.ts`, which rewrites the SVG and prints the
 * table to paste into bench/README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How a figure compares with its target. */
export type Result = 'met' | 'at the line' | 'missed' | 'reported';

/** One figure of one scenario. */
export interface FigureRow {
  scenario: string;
  figure: string;
  /** monorail-ws's own figure, in words, when it says more than the ratios. */
  value?: string;
  /** monorail-ws ÷ raw `ws`, same run. */
  vsRaw?: number;
  /** monorail-ws ÷ Socket.IO 4 (or socket.io-client for the client size), same run. */
  vsSocketIo?: number;
  target: string;
  /** The target as a ratio to raw `ws`, drawn as a mark on the bar. */
  limit?: number;
  /** The target is a floor (deliveries per second), not a ceiling. */
  higherIsBetter?: boolean;
  result: Result;
}

/** bench/latest.json. */
export interface Figures {
  run: { command: string; date: string; seconds: number; loadAverage: number; machine: string };
  rows: FigureRow[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const FIGURES_FILE = `${HERE}latest.json`;
export const CHART_FILE = `${HERE}latest.svg`;

export function readFigures(file = FIGURES_FILE): Figures {
  return JSON.parse(readFileSync(file, 'utf8')) as Figures;
}

const ratio = (n: number | undefined): string => (n === undefined ? '–' : `${n}×`);

/** The table of bench/README.md: every scenario's figure, its ratios and its target. */
export function markdownTable(figures: Figures): string {
  const lines = ['| scenario | figure | monorail-ws | ÷ raw `ws` | ÷ Socket.IO 4 | target | result |', '|---|---|---|---:|---:|---|---|'];
  for (const r of figures.rows) {
    const result = r.result === 'met' || r.result === 'reported' ? r.result : `**${r.result}**`;
    lines.push(`| ${r.scenario} | ${r.figure} | ${r.value ?? ''} | ${ratio(r.vsRaw)} | ${ratio(r.vsSocketIo)} | ${r.target} | ${result} |`);
  }
  return lines.join('\n');
}

const COLOURS: Record<Result, string> = { met: '#2e7d32', 'at the line': '#ef8f00', missed: '#c62828', reported: '#78909c' };

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar per figure that has a ratio to raw `ws`, with raw `ws` at 1× and each target marked. */
export function renderChart(figures: Figures): string {
  const rows = figures.rows.filter((r) => r.vsRaw !== undefined);
  const labelWidth = 300;
  const plotWidth = 420;
  const rowHeight = 40;
  const top = 54;
  const width = labelWidth + plotWidth + 110;
  const height = top + rows.length * rowHeight + 58;
  const max = Math.ceil(Math.max(...rows.map((r) => Math.max(r.vsRaw!, r.limit ?? 0))) * 2) / 2;
  const x = (v: number): number => Math.round(labelWidth + (v / max) * plotWidth);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">monorail-ws ÷ raw ws, measured side by side in one run</text>`,
    `<text x="12" y="40" fill="#555555">${escapeXml(`${figures.run.command}, ${figures.run.date}; lower is better, except deliveries per second`)}</text>`,
  ];
  const bottom = top + rows.length * rowHeight;
  for (let v = 0; v <= max + 1e-9; v += 0.5) {
    const dashed = v === 1 ? ' stroke-dasharray="4 3"' : '';
    out.push(`<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${bottom}" stroke="${v === 1 ? '#333333' : '#dddddd'}"${dashed}/>`);
    out.push(`<text x="${x(v)}" y="${bottom + 16}" text-anchor="middle" fill="#555555">${v}×</text>`);
  }
  out.push(`<text x="${x(1) + 4}" y="${top + 4}" fill="#333333" font-size="11">raw ws</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    out.push(`<text x="12" y="${y + 14}" fill="#666666" font-size="11">${escapeXml(r.scenario)}</text>`);
    out.push(`<text x="12" y="${y + 30}">${escapeXml(r.figure)}</text>`);
    out.push(`<rect x="${labelWidth}" y="${y + 12}" width="${x(r.vsRaw!) - labelWidth}" height="18" fill="${COLOURS[r.result]}"/>`);
    const target = r.limit === undefined ? r.target : `target ${r.higherIsBetter ? '≥' : '≤'} ${r.limit}×`;
    out.push(
      `<text x="${x(Math.max(r.vsRaw!, r.limit ?? 0)) + 8}" y="${y + 26}">${ratio(r.vsRaw)} <tspan fill="#666666" font-size="11">${escapeXml(target)}</tspan></text>`,
    );
    if (r.limit !== undefined)
      out.push(`<line x1="${x(r.limit)}" y1="${y + 6}" x2="${x(r.limit)}" y2="${y + 36}" stroke="#000000" stroke-width="2"/>`);
  });
  const legend = (Object.keys(COLOURS) as Result[]).filter((k) => rows.some((r) => r.result === k));
  let lx = 12;
  const ly = bottom + 40;
  for (const k of legend) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[k]}"/>`, `<text x="${lx + 17}" y="${ly}">${k}</text>`);
    lx += 30 + k.length * 7;
  }
  out.push(
    `<line x1="${lx}" y1="${ly - 12}" x2="${lx}" y2="${ly + 3}" stroke="#000000" stroke-width="2"/>`,
    `<text x="${lx + 8}" y="${ly}">target</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('chart.ts')) {
  const figures = readFigures();
  writeFileSync(CHART_FILE, renderChart(figures));
  process.stdout.write(`wrote ${CHART_FILE}\n\n${markdownTable(figures)}\n`);
}
