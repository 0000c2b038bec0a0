/**
 * `hotKeep` with a fake hot context: a module "run" three times, as Vite runs it again on every edit, keeps one mock
 * and one client. The Vite dev server itself, with real edits: e2e/hmr.spec.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bundleSize, CLIENT_ENTRY } from '../bench/size.js';
import { createMockServer, type MockServer } from '../mock/index.js';
import { waitFor } from '../test/support/wait.js';
import { createClient, type Client } from './client.js';
import { type HotContext, hotKeep } from './hot.js';

const URL = 'ws://hot.test:9100';
const CHANNELS = ['nodes', 'workflows', 'logs'] as const;
const mocks: MockServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

/** What an app's module does at module scope, with or without `hotKeep`. */
function runModule(hot: HotContext | undefined): { mock: MockServer; client: Client<(typeof CHANNELS)[number]> } {
  const mock = hotKeep(hot, 'mock', () => {
    const m = createMockServer({ url: URL });
    mocks.push(m);
    return m;
  });
  const client = hotKeep(hot, 'client', () => {
    const c = createClient({ url: mock.url, channels: CHANNELS, WebSocket: mock.WebSocket });
    clients.push(c);
    return c;
  });
  return { mock, client };
}

describe('hotKeep', () => {
  it('keeps one mock and one client across three runs of a module: no second mock, no extra socket', async () => {
    const hot = { data: {} };
    const first = runModule(hot);
    await waitFor(() => first.mock.hub.stats().connections === CHANNELS.length);
    for (let edit = 1; edit <= 3; edit++) {
      const again = runModule(hot);
      expect(again.mock).toBe(first.mock);
      expect(again.client).toBe(first.client);
    }
    expect(mocks).toHaveLength(1);
    expect(clients).toHaveLength(1);
    expect(first.mock.hub.stats().connections).toBe(CHANNELS.length);
  });

  it('without it, a second run fails on the mock URL (the error the mock keeps on purpose)', () => {
    runModule(undefined);
    expect(() => runModule(undefined)).toThrow(`another mock server already serves ${URL}`);
  });

  it('without a hot context, creates every time; keys name instances within a module', () => {
    let made = 0;
    const make = () => ({ n: ++made });
    expect(hotKeep(undefined, 'a', make)).not.toBe(hotKeep(undefined, 'a', make));
    const hot = { data: {} as Record<string, unknown> };
    const a = hotKeep(hot, 'a', make);
    const b = hotKeep(hot, 'b', make);
    expect([a.n, b.n, hotKeep(hot, 'a', make).n]).toEqual([3, 4, 3]);
    expect(Object.keys(hot.data)).toEqual(['a', 'b']);
  });

  it('keeps a falsy instance too, and never reads an inherited key', () => {
    const hot = { data: {} as Record<string, unknown> };
    const counted = (value: number) => () => {
      calls++;
      return value;
    };
    let calls = 0;
    expect(hotKeep(hot, 'zero', counted(0))).toBe(0);
    expect(hotKeep(hot, 'zero', counted(1))).toBe(0);
    expect(hotKeep(hot, 'toString', () => 'own')).toBe('own');
    expect(calls).toBe(1);
  });

  it('adds nothing to an app that does not import it: the core bundle has no byte of it', async () => {
    const { inputs } = await bundleSize(CLIENT_ENTRY);
    expect(inputs['client/connection.ts']).toBeGreaterThan(0);
    expect(inputs['client/hot.ts'] ?? 0).toBe(0);
  });
});
