/**
 * The fan-out of one change, top-down: `Hub.publish` finds the channel, then `fanOut`
 * 1. records it: numbered, with what the record was before (`record-memory.ts`);
 * 2. hands it to the snapshot reads in flight, which replay it after their snapshot (`reads.ts`, the ordering
 *    guarantee);
 * 3. asks the watch index which subscriptions it may concern (`watch-index.ts`), skipping those with a read in
 *    flight (they get it in step 2's replay);
 * 4. decides per subscription: `item`, `remove` or nothing (`decide` in `record-memory.ts`);
 * 5. sends the frame, serialised once per resource name and kind and shared by every connection it goes to;
 * 6. keeps it in the channel's history when the channel is resumable (`history.ts`).
 *
 * Steps 3–5 are the hot path of a server with many connections: per connection a change concerns, nothing here
 * allocates (the frame is shared, each filter's verdict is computed once per change). Browser-safe.
 */
import { stringifyMessage } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import { HISTORY_ENTRY_BYTES } from './history.js';
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
  if (state.index.subs.size > 0) {
    for (const sub of state.index.candidates(logged)) {
      // A connection with a snapshot in flight gets this change replayed right after that snapshot.
      if (sub.inflight > 0) continue;
      deliver(state, sub, logged);
    }
  }
  // Kept without the frames built for it: those (and the transport's encoding of them) are for now, not for a replay.
  if (logged.pos >= 0)
    state.history?.add({ seq: logged.seq, pos: logged.pos, id: logged.id, data: logged.data, prev: logged.prev }, historyBytes(logged));
}

/**
 * Sends a change to one subscription, if it concerns it. The hot path of fan-out: nothing here allocates per
 * connection. On a channel with positions the frame carries the change's, unless the subscription still has a read in
 * flight that holds back changes older than this one (a replay after a snapshot while another of its reads is pending:
 * `heldFrom` is the oldest such read's start), because a position tells the client it has everything up to there.
 */
export function deliver(
  state: ChannelState,
  sub: Subscription,
  change: LoggedChange,
  afterSnapshot = false,
  heldFrom = Number.POSITIVE_INFINITY,
): void {
  const kind = decide(sub.watches, change, state.spec.appendOnly, afterSnapshot);
  if (!kind) return;
  const conn = sub.conn;
  if (conn.dialect) {
    conn.sendFrame(conn.dialect.frame(state, change, kind, sub.resource));
    return;
  }
  const positioned = change.pos >= 0 && (sub.inflight === 0 || change.pos <= heldFrom);
  conn.sendFrame(frameOf(state, change, kind, sub.resource, positioned));
  if (positioned && change.pos > sub.sent) sub.sent = change.pos;
}

/**
 * The frame of a change for one resource name and kind, with or without its position: serialised the first time a
 * connection needs it, then shared.
 */
export function frameOf(
  state: ChannelState,
  change: LoggedChange,
  kind: 'item' | 'remove',
  resource: string,
  positioned = false,
): SharedFrame {
  const frames = (change.frames ??= []);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.kind === kind && f.resource === resource && f.positioned === positioned) return f.frame;
  }
  // JSON.stringify leaves an undefined position out.
  const position = positioned ? state.history?.text(change.pos) : undefined;
  const frame = new SharedFrame(
    kind === 'item'
      ? stringifyMessage({ handler: 'item', resource, id: change.id, data: change.data!, position })
      : stringifyMessage({ handler: 'remove', resource, id: change.id, position }),
  );
  frames.push({ resource, kind, positioned, frame });
  return frame;
}

/**
 * What a change costs a channel's history: its record's JSON (the frame already built for it when a connection was
 * sent one, else serialised now) and a fixed part. The record's previous state is not counted: when the feed gave it,
 * it is usually the record of an earlier entry. What the heap holds per byte counted is measured in history.test.ts.
 */
function historyBytes(change: LoggedChange): number {
  const frame = change.frames?.[0]?.frame;
  return HISTORY_ENTRY_BYTES + (frame ? frame.text.length : change.data ? JSON.stringify(change.data).length : 0);
}
