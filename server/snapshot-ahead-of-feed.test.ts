/**
 * Regression tests for what the fault-convergence test on MongoDB and RabbitMQ found: with a database as the source
 * and a broker as the feed, a snapshot read can see a write whose change has not arrived yet (RackHD writes MongoDB,
 * then publishes), and changes carry no previous record. The hub must still send every connection the `remove` it
 * needs, and a re-snapshot must read the source again.
 *
 * Driven through the hub's socket interface; each connection's frames go into a real client `Store`, and the store
 * is compared with the source — the same check the fault test makes, without processes.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '../client/store.js';
import { matches, type Doc, type Params, type ServerMessage } from '../protocol/index.js';
import { Hub } from './hub/hub.js';
import type { HubSocket } from './hub/socket.js';
import type { Source } from './hub/source.js';

/** A database: reads see its rows when they execute; the test decides when each read answers. */
class Database implements Source {
  readonly rows = new Map<string, Doc>();
  readonly pending: Array<{ params: Params; answer: () => void }> = [];

  read(_channel: string, params: Params): Promise<Doc[]> {
    const rows = [...this.rows.values()].filter((d) => matches(d, params));
    return new Promise((resolve) => this.pending.push({ params, answer: () => resolve(rows) }));
  }
  async get(channel: string, params: Params): Promise<Doc | undefined> {
    return (await this.read(channel, params))[0];
  }
  /** Answers the pending read of a watch. */
  answer(params: Params): void {
    const i = this.pending.findIndex((p) => JSON.stringify(p.params) === JSON.stringify(params));
    if (i === -1) throw new Error(`no pending read for ${JSON.stringify(params)}`);
    this.pending.splice(i, 1)[0]!.answer();
  }
}

/** A connection whose frames are applied to a client store. */
class Client implements HubSocket {
  readonly store = new Store();
  private onMsg: (data: string, isBinary: boolean) => void = () => {};
  send(data: string): void {
    const m = JSON.parse(data) as ServerMessage;
    if (m.handler === 'list') this.store.applyList(m.params, m.items);
    else if (m.handler === 'item') this.store.applyItem(m.id, m.data);
    else if (m.handler === 'remove') this.store.applyRemove(m.id, m.params);
  }
  close(): void {}
  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.onMsg = handler;
  }
  onClose(): void {}
  watch(params: Params): void {
    this.store.addWatch(params);
    this.onMsg(JSON.stringify({ handler: 'watch', params }), false);
  }
  ids(): string[] {
    return this.store
      .getSnapshot()
      .map((d) => String(d.id))
      .sort();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const db = new Database();
  const hub = new Hub({ source: db });
  const connect = () => {
    const client = new Client();
    hub.accept(client, { channel: 'nodes' });
    return client;
  };
  /** RackHD: write the database now; the broker delivers the change (without the previous record) when `deliver` is called. */
  const write = (doc: Doc) => {
    db.rows.set(String(doc.id), doc);
    return { deliver: () => hub.publish({ channel: 'nodes', id: String(doc.id), data: doc }) };
  };
  return { db, hub, connect, write };
}

describe('a snapshot ahead of the feed', () => {
  it("another connection's snapshot that already saw a write does not hide the remove that write's change means for a watcher", async () => {
    const { db, connect, write } = setup();
    db.rows.set('x', { id: 'x', type: 'compute' });
    const a = connect();
    a.watch({ type: 'compute' });
    await tick();
    db.answer({ type: 'compute' });
    await tick();
    expect(a.ids()).toEqual(['x']);

    // x becomes a switch in the database; its change is still on its way when b's snapshot reads it.
    const change = write({ id: 'x', type: 'switch' });
    const b = connect();
    b.watch({});
    await tick();
    db.answer({});
    await tick();
    expect(b.ids()).toEqual(['x']);

    change.deliver();
    expect(a.ids()).toEqual([]);
  });

  it("a change held for a connection's snapshot is a remove for it when it no longer matches, whatever another snapshot saw first", async () => {
    const { db, connect, write } = setup();
    db.rows.set('x', { id: 'x', type: 'compute' });
    // a's snapshot reads x as compute ...
    const a = connect();
    a.watch({ type: 'compute' });
    await tick();
    // ... x becomes a switch, b's snapshot reads that and answers first, then the change arrives while a still waits.
    const change = write({ id: 'x', type: 'switch' });
    const b = connect();
    b.watch({ type: 'switch' });
    await tick();
    db.answer({ type: 'switch' });
    await tick();
    change.deliver();
    db.answer({ type: 'compute' });
    await tick();

    expect(a.ids()).toEqual([]);
    expect(b.ids()).toEqual(['x']);
  });
});

describe('resnapshot', () => {
  it('reads the source again instead of joining a read that began before it was asked for', async () => {
    const { db, hub, connect } = setup();
    db.rows.set('x', { id: 'x', type: 'compute' });
    const a = connect();
    a.watch({ type: 'compute' });
    await tick();
    // While a's snapshot is in flight, x changes and its change is lost (the broker connection was down); the
    // broker is back and the feed asks for a re-snapshot, which must see the database as it is now.
    db.rows.set('x', { id: 'x', type: 'switch' });
    hub.resnapshot('nodes');
    await tick();
    expect(db.pending).toHaveLength(2);
    db.answer({ type: 'compute' });
    db.answer({ type: 'compute' });
    await tick();
    expect(a.ids()).toEqual([]);
  });

  it('an older snapshot of a watch that answers after a newer one is not sent over it', async () => {
    const { db, hub, connect } = setup();
    db.rows.set('x', { id: 'x', type: 'compute' });
    const a = connect();
    a.watch({ type: 'compute' });
    await tick();
    db.rows.delete('x');
    hub.resnapshot('nodes');
    await tick();
    // The database answers the newer read first (two pooled connections, say).
    db.pending.reverse();
    db.answer({ type: 'compute' });
    await tick();
    expect(a.ids()).toEqual([]);
    db.answer({ type: 'compute' });
    await tick();
    expect(a.ids()).toEqual([]);
  });
});
