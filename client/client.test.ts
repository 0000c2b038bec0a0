import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Client } from './client.js';
import { startScriptServer, type ScriptServer } from '../test/support/script-server.js';
import { next } from '../test/support/client-events.js';

const servers: ScriptServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(): Promise<ScriptServer> {
  const s = await startScriptServer();
  servers.push(s);
  return s;
}

describe('createClient', () => {
  it('opens one connection per channel at <base>/<channel>, with the channel table defaults', async () => {
    const s = await server();
    const client = createClient({ url: `${s.url}//`, channels: ['nodes', 'workflows', 'logs'], backoff: { baseMs: 0 } });
    clients.push(client);
    const { nodes, workflows, logs } = client.channels;
    await Promise.all([next(nodes, 'init'), next(workflows, 'init'), next(logs, 'init')]);
    expect(s.connections.map((c) => c.path).sort()).toEqual(['/logs', '/nodes', '/workflows']);
    expect([nodes.channel, workflows.store.idField, logs.store.appendOnly]).toEqual(['nodes', 'instanceId', true]);
    expect(client.channel('nodes')).toBe(nodes);
  });

  it('gives every channel the whole URL list for failover', () => {
    const client = createClient({
      url: ['ws://a.test:1/', 'ws://b.test:2/api'],
      channels: ['nodes', 'skus'],
      autoConnect: false,
    });
    expect(client.channels.nodes.urls).toEqual(['ws://a.test:1/nodes', 'ws://b.test:2/api/nodes']);
    expect(client.channels.skus.urls).toEqual(['ws://a.test:1/skus', 'ws://b.test:2/api/skus']);
    expect(client.channels.skus.state).toBe('closed');
  });

  it('connect() and disconnect() act on every channel', async () => {
    const s = await server();
    const client = createClient({ url: s.url, channels: ['nodes', 'skus'], autoConnect: false });
    clients.push(client);
    const { nodes, skus } = client.channels;
    client.connect();
    await Promise.all([next(nodes, 'open'), next(skus, 'open')]);
    const closed = Promise.all([next(nodes, 'close'), next(skus, 'close')]);
    client.disconnect();
    expect((await closed).map((c) => c.code)).toEqual([1000, 1000]);
    expect([nodes.state, skus.state]).toEqual(['closed', 'closed']);
  });

  it('refuses an unknown channel name from untyped code, prototype names included', () => {
    const client = createClient({ url: 'ws://a.test:1', channels: ['nodes'], autoConnect: false });
    expect(() => client.channel('skus' as 'nodes')).toThrow(/no channel "skus".*nodes/);
    expect(() => client.channel('toString' as 'nodes')).toThrow(/no channel/);
    expect(Object.isFrozen(client.channels)).toBe(true);
  });
});
