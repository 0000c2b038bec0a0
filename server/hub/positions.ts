/**
 * Positions (docs/architecture.md "Positions and resume"): where a change sits on its channel's history, so that a
 * client that reconnects can say how far it got. A position is an *epoch* (which history this is) and an *offset*
 * (monotonic within the epoch), written `<channel epoch>.<offset>`: opaque to clients, parsed only here.
 *
 * The `Timeline` numbers changes and says which epoch governs an offset. Epochs are set by *markers*: from a marker's
 * offset on (until the next marker), offsets belong to its epoch. Two kinds of timeline:
 * - own (the embedded backend, the mock): the hub numbers changes itself; one marker at offset 0 with an epoch drawn
 *   at random when the hub is made, so a restarted process never accepts its predecessor's positions;
 * - external (a RabbitMQ stream, `server/feeds/amqp-stream.ts`): offsets are the stream's, the same on every
 *   instance, and the markers are messages in the stream itself, read by every instance alike. A stream deleted and
 *   declared again starts without them, so it never shares an epoch with its predecessor.
 * A position also names its channel: the epoch written in it is a digest of the marker's epoch and the channel name,
 * so a position of another channel never passes for this one's. Browser-safe.
 */
import { randomId } from './ids.js';

/** One epoch boundary: from `offset` on, until the next marker, positions belong to `epoch`. */
export interface Marker {
  readonly offset: number;
  readonly epoch: string;
}

/** A position as the client sent it, parsed: the channel epoch and the offset. */
export interface ParsedPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** Longest position text the server looks at; longer is malformed (positions it writes are under 30 characters). */
export const MAX_POSITION_LENGTH = 48;

const POSITION = /^([0-9a-z]{1,16})\.(0|[1-9][0-9]{0,15})$/;

/** Parses a position a client sent; undefined when it is not one the server could have written (malformed). */
export function parsePosition(text: unknown): ParsedPosition | undefined {
  if (typeof text !== 'string' || text.length > MAX_POSITION_LENGTH) return undefined;
  const m = POSITION.exec(text);
  if (!m) return undefined;
  const offset = Number(m[2]);
  return Number.isSafeInteger(offset) ? { epoch: m[1]!, offset } : undefined;
}

/**
 * The epoch a position of `channel` carries under the marker epoch `epoch`: a 53-bit digest (cyrb53) of both, in
 * base 36. Not a secret and need not be: a client that forges a position only gets less replayed to itself.
 */
export function channelEpoch(epoch: string, channel: string): string {
  const text = `${epoch}\u0000${channel}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** A wait for an offset (`Timeline.wait`). */
interface Waiter {
  readonly offset: number;
  readonly fire: () => void;
}

/** Options of `Timeline`. */
export interface TimelineOptions {
  /** Offsets come from outside (a RabbitMQ stream) rather than from the hub's own count. */
  readonly external: boolean;
  /**
   * Most markers remembered; past it the oldest goes, and positions it governed get a full `list`.
   * @default DEFAULTS.resume.maxMarkers (1,000)
   */
  readonly maxMarkers: number;
}

/** The offsets and epochs of one hub's positions. */
export class Timeline {
  readonly external: boolean;
  /**
   * The last offset whose changes have all been published: a snapshot read that starts now holds every change up to
   * it, and a `progress` says so. -1 while an external timeline has read nothing yet.
   */
  head: number;
  /**
   * The highest offset any change was given, which in an external timeline may be ahead of `head` while a message
   * is being handled (its change published, the message not yet done).
   */
  issued: number;
  /** Set by an external timeline's owner: publishes a barrier and resolves with the stream's last offset once read. */
  tail: (() => Promise<number>) | undefined = undefined;
  private readonly maxMarkers: number;
  private markers: Marker[] = [];
  private waiters: Waiter[] = [];
  /** The smallest offset waited for, so that `advance` costs nothing while nobody waits that far. */
  private nextWake = Number.POSITIVE_INFINITY;
  private readonly resetListeners = new Set<() => void>();

  constructor(options: TimelineOptions) {
    this.external = options.external;
    this.maxMarkers = options.maxMarkers;
    this.head = this.external ? -1 : 0;
    this.issued = this.head;
    if (!this.external) this.markers.push({ offset: 0, epoch: randomId(6) });
  }

  /** Own timeline: the offset of a new change (it is published at once, so the head moves with it). */
  next(): number {
    this.head++;
    this.issued = this.head;
    return this.head;
  }

  /** External timeline: a change was given `offset` (its message is still being handled). */
  issue(offset: number): void {
    if (offset > this.issued) this.issued = offset;
  }

  /** External timeline: everything up to `offset` has been handled; waits for it end. */
  advance(offset: number): void {
    if (offset <= this.head) return;
    this.head = offset;
    if (offset > this.issued) this.issued = offset;
    if (offset >= this.nextWake) this.wake();
  }

  /** External timeline: a marker read at `offset` starts epoch `epoch` there. */
  mark(offset: number, epoch: string): void {
    const last = this.markers.at(-1);
    if (last && offset <= last.offset) return;
    this.markers.push({ offset, epoch });
    if (this.markers.length > this.maxMarkers) this.markers.shift();
  }

  /** The epoch governing `offset`: the last marker's at or before it; undefined before the first one remembered. */
  epochAt(offset: number): string | undefined {
    const markers = this.markers;
    const last = markers.at(-1);
    if (last === undefined || offset < markers[0]!.offset) return undefined;
    if (offset >= last.offset) return last.epoch;
    let lo = 0;
    let hi = markers.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (markers[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return markers[lo]!.epoch;
  }

  /** Markers remembered (tests, stats). */
  get markerCount(): number {
    return this.markers.length;
  }

  /**
   * External timeline: the history starts over (the stream was deleted, or read from a point that cannot be joined to
   * what was read before): every marker and offset is forgotten, and the listeners drop the histories built on them.
   */
  reset(): void {
    this.markers = [];
    this.head = -1;
    this.issued = -1;
    for (const listener of this.resetListeners) listener();
  }

  /** Registers a listener of `reset`; returns the function that removes it. */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  /** Calls `fire` once the head reaches `offset` (at once if it has); returns the function that cancels the wait. */
  wait(offset: number, fire: () => void): () => void {
    if (offset <= this.head) {
      fire();
      return () => undefined;
    }
    const waiter: Waiter = { offset, fire };
    this.waiters.push(waiter);
    if (offset < this.nextWake) this.nextWake = offset;
    return () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }

  /** Fires the waits the head has reached. */
  private wake(): void {
    const due: Waiter[] = [];
    const rest: Waiter[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const w of this.waiters) {
      if (w.offset <= this.head) due.push(w);
      else {
        rest.push(w);
        if (w.offset < next) next = w.offset;
      }
    }
    this.waiters = rest;
    this.nextWake = next;
    for (const w of due) w.fire();
  }
}
