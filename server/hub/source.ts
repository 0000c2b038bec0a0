/**
 * The contracts between the hub and where data comes from: a `Source` answers snapshot reads, and changes
 * arrive as `Change` values from feeds (the memory backend's own writes, RabbitMQ, …).
 */
import type { Doc, Params } from '../../protocol/index.js';

/** Answers snapshot reads. Implementations: the memory backend, the MongoDB source. */
export interface Source {
  /** Up to `limit` records of `channel` matching `params`, in a stable order. */
  read(channel: string, params: Params, limit: number): Promise<Doc[]> | Doc[];
  /** The first record of `channel` matching `params`, or undefined. */
  get(channel: string, params: Params): Promise<Doc | undefined> | Doc | undefined;
}

/** A record created, changed, deleted (`data: null`) or appended. */
export interface Change {
  /** Canonical channel name. */
  readonly channel: string;
  readonly id: string;
  /** The record now; `null` when it was deleted. */
  readonly data: Doc | null;
  /**
   * The record before the change when the feed knows it; `null` when it did not exist (a create).
   * Left out when unknown (a RabbitMQ `updated` event): the hub then uses what it remembers.
   */
  readonly prev?: Doc | null;
  /**
   * Where the change is in the feed's own log, when it has one that every instance shares (a RabbitMQ stream's
   * offset): a hub whose timeline is that log (`resume` with a stream) positions the change there. Left out by
   * feeds without such a log; the hub then numbers changes itself.
   */
  readonly offset?: number;
}

/** Something that emits changes (memory backend, AMQP feed). */
export interface ChangeFeed {
  /** Registers a listener; returns the function that removes it. */
  onChange(listener: (change: Change) => void): () => void;
}

/** Thrown by sources when the database cannot be read; the hub replies `source-unavailable`. */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
}
