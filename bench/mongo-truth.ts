/**
 * The storm scenario's source of truth when it reads from MongoDB: the wire-level MongoDB test server
 * (test/support/mongo-wire/server.ts) in a process of its own, so it outlives the monorail-ws server's restart, and
 * the orchestrator changes the truth while the server is down.
 */
import { ObjectId } from 'bson';
import type { Doc } from '../protocol/index.js';
import { MongoWireServer } from '../test/support/mongo-wire/server.js';
import { stormNodes, stormNodesAfter } from './data.js';
import { serveRequests } from './ipc.js';

const server = await MongoWireServer.start();

function toMongo(doc: Doc): Record<string, unknown> {
  const { id, ...rest } = doc;
  return { _id: ObjectId.createFromHexString(id as string), ...rest };
}

serveRequests({
  info: () => ({ url: server.url('pxe') }),
  seed: (m) => {
    server.delete('pxe', 'nodes', {});
    server.insert('pxe', 'nodes', stormNodes(m.nodes as number, m.bytes as number).map(toMongo));
  },
  after: (m) => {
    server.delete('pxe', 'nodes', {});
    server.insert('pxe', 'nodes', stormNodesAfter(m.nodes as number, m.bytes as number).map(toMongo));
  },
  /** The resume scenario's writes (RackHD's; the orchestrator publishes their waterline events). */
  apply: (m) => {
    for (const doc of m.upserts as Doc[]) {
      server.delete('pxe', 'nodes', { _id: ObjectId.createFromHexString(doc.id as string) });
      server.insert('pxe', 'nodes', [toMongo(doc)]);
    }
    for (const doc of m.removes as Doc[]) server.delete('pxe', 'nodes', { _id: ObjectId.createFromHexString(doc.id as string) });
  },
  finds: () => ({ finds: server.filtersSent('nodes').length }),
  exit: async () => {
    await server.close();
    setImmediate(() => process.exit(0));
  },
});
