/** Deterministic ids and times for the demo data (same on every run, so docs, tests and screenshots agree). */

/** A fixed point in time so fixtures are reproducible. */
const EPOCH = Date.UTC(2026, 10, 1, 8, 0, 0);

/** A 24-hex id in the shape of a MongoDB ObjectId, derived from a prefix and a counter. */
export function objectId(kind: number, n: number): string {
  return (
    Math.floor(EPOCH / 1000)
      .toString(16)
      .padStart(8, '0') +
    kind.toString(16).padStart(4, '0') +
    n.toString(16).padStart(12, '0')
  );
}

/** A UUID-shaped id (RackHD graph instance ids are UUIDs), deterministic from a counter. */
export function uuid(n: number): string {
  const hex = ((n * 2654435761) >>> 0).toString(16).padStart(8, '0');
  const tail = n.toString(16).padStart(12, '0');
  return `${hex}-${tail.slice(0, 4)}-4${tail.slice(4, 7)}-a${tail.slice(7, 10)}-${tail}`;
}

/** An ISO-8601 time this many seconds after the demo epoch. */
export function iso(offsetSeconds: number): string {
  return new Date(EPOCH + offsetSeconds * 1000).toISOString();
}

/** A MAC address derived from a counter. */
export function mac(n: number): string {
  return `52:54:be:ef:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}
