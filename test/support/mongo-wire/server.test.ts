/**
 * The wire-level MongoDB test server, driven by the official driver: if these pass, the Mongo source's tests run
 * the real driver code paths (handshake, find/getMore batching, killCursors, writes) against an oracle (mingo).
 */
import { MongoClient, MongoServerError, ObjectId } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { MongoWireServer } from './server.js';
import { controlMongoWireServer, startMongoWireServer, type ServerProcess } from '../processes.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function client(url: string): MongoClient {
  const c = new MongoClient(url, { serverSelectionTimeoutMS: 300, heartbeatFrequencyMS: 500 });
  cleanup.push(() => c.close());
  return c;
}

async function server(): Promise<MongoWireServer> {
  const s = await MongoWireServer.start();
  cleanup.push(() => s.close());
  return s;
}

describe('mongo wire server', () => {
  it('answers the driver: writes, filtered and sorted finds over several getMore batches, findOne, updates, deletes', async () => {
    const s = await server();
    const db = client(s.url('wire')).db('wire');
    const nodes = db.collection('nodes');
    await nodes.insertMany(Array.from({ length: 250 }, (_, i) => ({ n: i, type: i % 2 ? 'compute' : 'switch', tags: [`t${i % 3}`] })));
    const compute = await nodes
      .find({ type: 'compute', n: { $gte: 10 } })
      .sort({ n: -1 })
      .batchSize(40)
      .toArray();
    expect(compute.map((d) => d.n)).toEqual(Array.from({ length: 120 }, (_, i) => 249 - i * 2));
    expect(s.commands.filter((c) => c.name === 'getMore').length).toBeGreaterThanOrEqual(2);
    const limited = await nodes.find({ tags: 't0' }).limit(5).toArray();
    expect(limited).toHaveLength(5);
    const one = await nodes.findOne({ n: 7 });
    expect(one).toMatchObject({ n: 7, type: 'compute', _id: expect.any(ObjectId) });
    expect(await nodes.findOne({ _id: one!._id })).toMatchObject({ n: 7 });
    expect(await db.collection<{ _id: string }>('nodes').findOne({ _id: one!._id.toHexString() })).toBeNull(); // a string never equals an ObjectId
    await nodes.updateOne({ n: 7 }, { $set: { type: 'pdu' } });
    await nodes.replaceOne({ n: 8 }, { n: 8, replaced: true });
    await nodes.updateOne({ n: 1000 }, { $set: { type: 'new' } }, { upsert: true });
    expect(await nodes.findOne({ n: 7 })).toMatchObject({ type: 'pdu' });
    expect(await nodes.findOne({ n: 8 })).toMatchObject({ replaced: true });
    expect(await nodes.findOne({ n: 1000 })).toMatchObject({ type: 'new' });
    expect((await nodes.deleteMany({ type: 'switch' })).deletedCount).toBe(124);
    expect(s.collection('wire', 'nodes')).toHaveLength(127);
    await nodes.drop();
    expect(await nodes.find({}).toArray()).toEqual([]);
  });

  it('closes cursors the driver abandons, and answers unknown commands with CommandNotFound', async () => {
    const s = await server();
    const db = client(s.url('wire')).db('wire');
    await db.collection('c').insertMany(Array.from({ length: 30 }, (_, i) => ({ i })));
    const cursor = db.collection('c').find({}).batchSize(10);
    await cursor.next();
    await cursor.close();
    expect(s.commands.some((c) => c.name === 'killCursors')).toBe(true);
    await expect(db.command({ frobnicate: 1 })).rejects.toThrow(MongoServerError);
    expect(s.unknownCommands).toContain('frobnicate');
  });

  it("implements mongod's failCommand failpoint", async () => {
    const s = await server();
    const db = client(s.url('wire')).db('wire');
    await db.collection('c').insertOne({ a: 1 });
    await db.admin().command({ configureFailPoint: 'failCommand', mode: { times: 1 }, data: { failCommands: ['find'], errorCode: 13 } });
    await expect(db.collection('c').findOne({})).rejects.toMatchObject({ code: 13 });
    expect(await db.collection('c').findOne({})).toMatchObject({ a: 1 });
  });

  it('stop() is an outage (the driver fails), resume() brings the same data back on the same port', async () => {
    const s = await server();
    const c = client(s.url('wire'));
    await c.db('wire').collection('c').insertOne({ kept: true });
    const port = s.port;
    await s.stop();
    await expect(c.db('wire').collection('c').findOne({})).rejects.toThrow();
    await s.resume();
    expect(s.port).toBe(port);
    expect(await c.db('wire').collection('c').findOne({})).toMatchObject({ kept: true });
  });

  it('runs as its own process: the driver writes and reads through it, and SIGTERM stops it with 0', async () => {
    const proc: ServerProcess = await startMongoWireServer();
    cleanup.push(() => proc.stop('SIGKILL'));
    expect(proc.url).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
    const c = client(`${proc.url}/pxe`);
    await c.db().collection('nodes').insertOne({ name: 'n1' });
    expect(await c.db().collection('nodes').findOne({ name: 'n1' })).toMatchObject({ name: 'n1' });
    await c.close();
    expect(await proc.stop('SIGTERM')).toBe(0);
  });

  it('as its own process with IPC: stops and resumes on request, keeping its data, and exits when its parent lets go', async () => {
    const proc: ServerProcess = await startMongoWireServer([], { ipc: true });
    cleanup.push(() => proc.stop('SIGKILL'));
    const c = client(`${proc.url}/pxe`);
    await c.db().collection('nodes').insertOne({ name: 'kept' });
    await controlMongoWireServer(proc, 'stop');
    await expect(c.db().collection('nodes').findOne({})).rejects.toThrow();
    await controlMongoWireServer(proc, 'resume');
    expect(await c.db().collection('nodes').findOne({})).toMatchObject({ name: 'kept' });
    await c.close();
    proc.proc.disconnect();
    expect(await proc.exited).toBe(0);
  });
});
