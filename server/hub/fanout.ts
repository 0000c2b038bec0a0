/**
 * The fan-out of one change, top-down: `Hub.publish` finds the channel, then `fanOut`
 * 1. records it: numbered, with what the record was before (`record-memory.ts`);
 * 2. hands it to the snapshot reads in flight, which replay it after their snapshot (`reads.ts`, the ordering
 *    guarantee);
 * 3. asks the watch index which subscriptions it may concern (`watch-index.ts`), skipping those with a read in
 *    flight (they get it in step 2's replay);
 * 4. decides per subscription: `item`, `remove` or nothing (`decide` in `record-memory.ts`);
 * 5. sends the frame, serialised once per resource name and kind and shared by every connection it goes to.
 *
 * Steps 3–5 are the hot path of a server with many connections: per connection a change concerns, nothing here
 * allocates (the frame is shared, each filter's verdict is computed once per change). Browser-safe.
 */
import { stringifyMessage } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import { decide, type LoggedChange } from './record-memory.js';
import { SharedFrame } from './socket.js';
import type { Change } from './source.js';

/** Where a change goes first: the snapshot reads in flight on its channel keep it to replay after their snapshot. */
export interface HeldChanges {
  hold(state: ChannelState, change: LoggedChange): void;
}

/** Fans a change of `state`'s channel out to every connection it concerns. */
export function fanOut(state: ChannelState, change: Change, held: HeldChanges): void {
  const logged = state.record(change);
  held.hold(state, logged);
  if (state.index.subs.size === 0) return;
  for (const sub of state.index.candidates(logged)) {
    // A connection with a snapshot in flight gets this change replayed right after that snapshot.
    if (sub.inflight > 0) continue;
    deliver(state, sub, logged);
  }
}

/** Sends a change to one subscription, if it concerns it. The hot path of fan-out: nothing here allocates per connection. */
export function deliver(state: ChannelState, sub: Subscription, change: LoggedChange, afterSnapshot = false): void {
  const kind = decide(sub.watches, change, state.spec.appendOnly, afterSnapshot);
  if (!kind) return;
  sub.conn.sendFrame(sub.conn.dialect ? sub.conn.dialect.frame(state, change, kind, sub.resource) : frameOf(change, kind, sub.resource));
}

/** The frame of a change for one resource name and kind: serialised the first time a connection needs it, then shared. */
export function frameOf(change: LoggedChange, kind: 'item' | 'remove', resource: string): SharedFrame {
  const frames = (change.frames ??= []);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.kind === kind && f.resource === resource) return f.frame;
  }
  const frame = new SharedFrame(
    kind === 'item'
      ? stringifyMessage({ handler: 'item', resource, id: change.id, data: change.data! })
      : stringifyMessage({ handler: 'remove', resource, id: change.id }),
  );
  frames.push({ resource, kind, frame });
  return frame;
}
