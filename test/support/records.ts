/**
 * Comparing records regardless of order: a store, a source and a `list` frame hold the same records in
 * different orders, and a test compares what they hold, not how it is ordered.
 */
import type { MockServer } from '../../mock/index.js';

/** Records sorted by id, for comparing a store with its source regardless of order. */
export function byId<T extends { [key: string]: unknown }>(docs: readonly T[], idField = 'id'): T[] {
  return [...docs].sort((a, b) => String(a[idField]).localeCompare(String(b[idField])));
}

/** The names of a mock's nodes of `type`, sorted: what a view filtered on that type should show. */
export function nodeNames(mock: MockServer, type: string): string[] {
  return mock.backend
    .all('nodes')
    .filter((n) => n.type === type)
    .map((n) => String(n.name))
    .sort();
}
