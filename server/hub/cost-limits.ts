/** The bounds on what one connection's requests may cost (`HubOptions`, `createServer`). Browser-safe. */

/**
 * What one connection's requests may cost (issue 10): the size of a filter's lists, the bytes its watches hold, its
 * snapshot reads in flight and the size of one snapshot. Options of `Hub` and `createServer`; every refusal is an
 * `error` frame and the connection stays open.
 */
export interface CostLimits {
  /**
   * Most values in one `$in` or `$nin` list; a request with more is refused with `too-large` (checked when the frame
   * is parsed, before the watch index sees the list).
   * @default DEFAULTS.maxInValues (1,000)
   */
  maxInValues?: number;
  /**
   * Bytes the watches of one connection may hold in the hub, as estimated from what they say (canonical params,
   * parsed params, index entries; a filter shared with other connections counts in full for each); a watch that
   * would pass it is refused with `too-many-watches`.
   * @default DEFAULTS.maxWatchBytes (4 MiB)
   */
  maxWatchBytes?: number;
  /**
   * Snapshot reads one connection may have started and not yet answered; a request that would start another is
   * refused with `too-many-reads`. A request that joins an identical read already in flight (anyone's) starts none
   * and is never refused. Covers a reconnect (every watch and a full client queue, 1,100 reads), which must not be
   * refused: the client drops a refused watch.
   * @default DEFAULTS.maxReadsInFlight (1,200)
   */
  maxReadsInFlight?: number;
  /**
   * Bytes the snapshot reads one connection started and has not had answered may hold, as the hub estimates them (a
   * multiple of each read's key, above the heap a read holds while the source has not answered); a request that would
   * start a read past it is refused with `too-many-reads`. Joining an identical read already in flight and
   * re-snapshotting a watch the connection holds are never refused. Bounds what a stalled source lets one connection
   * pile up, which `maxReadsInFlight` (a count) does not.
   * @default DEFAULTS.maxReadBytes (16 MiB)
   */
  maxReadBytes?: number;
  /**
   * Most characters of records' JSON one `list` may carry (bytes, for ASCII records); a larger snapshot is refused
   * with `too-large` — never cut short, because a client's store deletes what a `list` leaves out. A refused watch
   * is dropped, as the client drops it.
   * @default DEFAULTS.maxListBytes (64 MiB)
   */
  maxListBytes?: number;
}
