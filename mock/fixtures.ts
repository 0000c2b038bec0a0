/**
 * The mock's default data: the same RackHD-shaped demo set the server seeds on a first run, plus the builders it is
 * made of, so UI developers can start from it and add records of the same shape. Browser-safe.
 *
 * @example
 * import { createMockServer, defaultFixtures, makeNode } from 'monorail-ws/mock';
 * const { nodes } = defaultFixtures();
 * const mock = createMockServer({ url: 'ws://localhost:9100', fixtures: { nodes: [...nodes, makeNode(42, 'switch')] } });
 */
import type { Doc } from '../protocol/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';

export { makeCatalog, makeEvent, makeLog, makeNode, makePoller, makeWorkflow, objectId, SKUS, uuid } from '../server/demo/fixtures.js';

/**
 * The default records by channel, a fresh copy on every call (deterministic ids, so docs, tests and screenshots agree):
 * 7 nodes (compute, switch, pdu, enclosure), 3 SKUs, a dmi and a bmc catalog per compute node, 5 workflows (succeeded,
 * running, failed, pending, cancelled), 2 pollers per compute node, a short log history and 3 events.
 */
export function defaultFixtures(): Record<string, Doc[]> {
  return demoFixtures();
}
