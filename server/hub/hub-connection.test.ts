/**
 * A connection as application code and the hub see it: sending (as is, as JSON, shared frames), listeners isolated
 * from each other and from the hub, and the one-or-array representation of its subscriptions.
 */
import { describe, expect, it } from 'vitest';
import { ChannelState, subscription } from './channel-state.js';
import { addSubscription, HubConnection, subscriptionOf, subscriptionsOf } from './hub-connection.js';
import { SharedFrame } from './socket.js';
import { FrameSocket, specOf, TestSocket } from '../../test/support/hub-doubles.js';

describe('sending', () => {
  it('a string goes as is, anything else as JSON; nothing once closed', () => {
    const socket = new TestSocket();
    const conn = new HubConnection('s1', 'nodes', socket, undefined);
    conn.send('{"handler":"pong"}');
    conn.send({ handler: 'custom', n: 1 });
    conn.closed = true;
    conn.send({ handler: 'late' });
    expect(socket.take()).toEqual([{ handler: 'pong' }, { handler: 'custom', n: 1 }]);
  });

  it('a shared frame goes to sendFrame when the socket has it, else as its text', () => {
    const frame = new SharedFrame('{"handler":"pong"}');
    const plain = new TestSocket();
    const sharing = new FrameSocket();
    new HubConnection('a', 'nodes', plain, undefined).sendFrame(frame);
    new HubConnection('b', 'nodes', sharing, undefined).sendFrame(frame);
    expect([plain.take(), sharing.shared]).toEqual([[{ handler: 'pong' }], [frame]]);
  });

  it('close reaches the socket once; the address and buffered bytes are the socket’s', () => {
    const socket = new TestSocket();
    const conn = new HubConnection('s1', 'nodes', socket, undefined, '10.0.0.1');
    conn.close(1001, 'bye');
    expect([socket.closedWith, conn.remoteAddress, conn.bufferedAmount]).toEqual([1001, '10.0.0.1', 0]);
  });
});

describe('listeners', () => {
  it('a throwing listener does not stop the others, and off removes one', () => {
    const conn = new HubConnection('s1', 'nodes', new TestSocket(), undefined);
    const seen: string[] = [];
    const second = () => seen.push('second');
    conn.on('message', () => {
      throw new Error('listener bug');
    });
    conn.on('message', second);
    conn.emit('message', { handler: 'init' });
    conn.off('message', second);
    conn.emit('message', { handler: 'init' });
    expect(seen).toEqual(['second']);
  });
});

describe('subscriptions', () => {
  it('none, then the one alone, then an array replaced (never mutated) with every one added', () => {
    const conn = new HubConnection('s1', 'nodes', new TestSocket(), undefined);
    const state = new ChannelState(specOf('nodes'));
    expect([subscriptionsOf(conn), subscriptionOf(conn, 'nodes')]).toEqual([[], undefined]);
    const nodes = subscription('nodes', state, conn);
    addSubscription(conn, nodes);
    expect([conn.subs, subscriptionOf(conn, 'nodes'), subscriptionOf(conn, 'other')]).toEqual([nodes, nodes, undefined]);
    const workflows = subscription('graphObjs', new ChannelState(specOf('workflows')), conn);
    addSubscription(conn, workflows);
    const two = conn.subs;
    expect(two).toEqual([nodes, workflows]);
    addSubscription(conn, subscription('skus', new ChannelState(specOf('skus')), conn));
    expect([two, subscriptionsOf(conn).map((s) => s.resource), subscriptionOf(conn, 'graphObjs')]).toEqual([
      [nodes, workflows],
      ['nodes', 'graphObjs', 'skus'],
      workflows,
    ]);
  });
});
