/**
 * RackHD-shaped demo data: the server's first-run seed and the mock's default fixtures. Deterministic (same
 * ids on every run) so docs, tests and screenshots agree. Browser-safe.
 *
 * Shapes follow RackHD's waterline models: nodes (`id`, `name`, `type`, `sku`, `obms`, `identifiers`, …),
 * graphobjects (`instanceId`, `name`, `injectableName`, `node`, `_status`, `tasks`, …), skus (`rules`),
 * catalogs (`node`, `source`, `data`), workitems (pollers) and on.logging LogEvents.
 */
import type { Doc } from '../../protocol/index.js';

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

function iso(offsetSeconds: number): string {
  return new Date(EPOCH + offsetSeconds * 1000).toISOString();
}

function mac(n: number): string {
  return `52:54:be:ef:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

/** The SKUs of the demo data. */
export const SKUS: Doc[] = [
  {
    id: objectId(2, 1),
    name: 'Dell PowerEdge R640',
    rules: [{ path: 'dmi.System Information.Product Name', contains: 'PowerEdge R640' }],
    discoveryGraphName: 'Graph.Bootstrap.Dell.R640',
    discoveryGraphOptions: {},
    createdAt: iso(0),
    updatedAt: iso(0),
  },
  {
    id: objectId(2, 2),
    name: 'Quanta D51B-2U',
    rules: [{ path: 'dmi.System Information.Product Name', contains: 'D51B-2U' }],
    discoveryGraphName: 'Graph.Bootstrap.Quanta',
    discoveryGraphOptions: {},
    createdAt: iso(0),
    updatedAt: iso(0),
  },
  {
    id: objectId(2, 3),
    name: 'Arista 7050',
    rules: [{ path: 'snmp-1.sysDescr', contains: 'Arista' }],
    discoveryGraphName: '',
    discoveryGraphOptions: {},
    createdAt: iso(0),
    updatedAt: iso(0),
  },
];

/** Builds a RackHD node. `type` is compute, switch, pdu, enclosure or mgmt. */
export function makeNode(n: number, type = 'compute', sku?: string): Doc {
  const id = objectId(1, n);
  return {
    id,
    name: type === 'compute' ? mac(n) : `${type}-${n}`,
    type,
    sku: sku ?? (type === 'compute' ? (SKUS[n % 2]!.id as string) : type === 'switch' ? (SKUS[2]!.id as string) : null),
    identifiers: [mac(n)],
    obms:
      type === 'compute'
        ? [{ service: 'ipmi-obm-service', config: { host: `172.31.128.${n}`, user: 'admin' } }]
        : [{ service: 'snmp-obm-service', config: { host: `172.31.129.${n}`, community: 'public' } }],
    relations: [],
    tags: [],
    autoDiscover: false,
    bootSettings: {},
    createdAt: iso(n * 60),
    updatedAt: iso(n * 60),
  };
}

/** Builds a RackHD catalog (one `source` of facts about a node). */
export function makeCatalog(n: number, node: string, source: string): Doc {
  const data: Doc =
    source === 'dmi'
      ? {
          'System Information': { Manufacturer: n % 2 ? 'Quanta' : 'Dell Inc.', 'Product Name': n % 2 ? 'D51B-2U' : 'PowerEdge R640' },
          'Processor Information': [{ Version: 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz', 'Core Count': '16' }],
          'Memory Device': [{ Size: '32768 MB', Type: 'DDR4' }],
        }
      : { 'BMC Firmware': '2.61', 'IP Address': `172.31.128.${n}`, 'MAC Address': mac(n) };
  return { id: objectId(3, n), node, source, data, createdAt: iso(n * 60 + 30), updatedAt: iso(n * 60 + 30) };
}

/** Builds a RackHD workflow (graph object). */
export function makeWorkflow(n: number, node: string, status: string, name = 'Discovery', injectableName = 'Graph.SKU.Discovery'): Doc {
  const tasks = ['bootstrap-ubuntu', 'catalog-dmi', 'catalog-bmc', 'node-discovered'];
  const done = status === 'succeeded' ? tasks.length : status === 'pending' ? 0 : status === 'running' ? 2 : 3;
  return {
    id: objectId(4, n),
    instanceId: uuid(n),
    name,
    injectableName,
    node,
    _status: status,
    tasks: Object.fromEntries(
      tasks.map((t, i) => [
        uuid(1000 + n * 10 + i),
        {
          label: t,
          injectableName: `Task.${t}`,
          state:
            i < done
              ? 'succeeded'
              : i === done && status === 'running'
                ? 'running'
                : i === done && status === 'failed'
                  ? 'failed'
                  : 'pending',
        },
      ]),
    ),
    progress: {
      value: done,
      maximum: tasks.length,
      percentage: `${Math.round((done / tasks.length) * 100)}%`,
      description: status === 'succeeded' ? 'Graph completed' : `Task ${tasks[Math.min(done, tasks.length - 1)]}`,
    },
    context: { target: node, graphId: uuid(n) },
    logContext: { graphInstance: uuid(n), graphName: name, nodeId: node },
    createdAt: iso(n * 60 + 45),
    updatedAt: iso(n * 60 + 90),
  };
}

/** Builds a RackHD poller (workitem). */
export function makePoller(n: number, node: string, command: string): Doc {
  return {
    id: objectId(5, n),
    name: command === 'sdr' || command === 'sel' ? 'Pollers.IPMI' : 'Pollers.SNMP',
    node,
    config: { command },
    pollInterval: 60_000,
    paused: false,
    state: 'accessible',
    failureCount: 0,
    lastStarted: iso(3600 + n),
    lastFinished: iso(3601 + n),
  };
}

/** Builds a RackHD on.logging LogEvent. `subject` is a node id or `'Server'`. */
export function makeLog(n: number, subject: string, level: string, message: string, context: Doc = {}): Doc {
  return {
    package: 'on-taskgraph',
    host: 'rackhd',
    module: 'task-graph-runner',
    level,
    message,
    context,
    timestamp: iso(600 + n),
    caller: 'lib/task-graph.js:412',
    subject,
  };
}

/** Builds a RackHD event (on.events payload). */
export function makeEvent(n: number, type: string, action: string, typeId: string, nodeId: string | null, data: Doc = {}): Doc {
  return {
    type,
    action,
    typeId,
    nodeId,
    severity: 'information',
    data,
    version: '1.0',
    createdAt: iso(900 + n),
  };
}

/** The demo data set, by channel. */
export function demoFixtures(): Record<string, Doc[]> {
  const nodes = [
    makeNode(1, 'compute'),
    makeNode(2, 'compute'),
    makeNode(3, 'compute'),
    makeNode(4, 'compute'),
    makeNode(5, 'switch'),
    makeNode(6, 'pdu'),
    makeNode(7, 'enclosure'),
  ];
  const compute = nodes.filter((n) => n.type === 'compute').map((n) => n.id as string);
  const catalogs = compute.flatMap((node, i) => [makeCatalog(i * 2 + 1, node, 'dmi'), makeCatalog(i * 2 + 2, node, 'bmc')]);
  const workflows = [
    makeWorkflow(1, compute[0]!, 'succeeded'),
    makeWorkflow(2, compute[1]!, 'running'),
    makeWorkflow(3, compute[2]!, 'failed'),
    makeWorkflow(4, compute[3]!, 'pending', 'Install Ubuntu', 'Graph.InstallUbuntu'),
    makeWorkflow(5, compute[0]!, 'cancelled', 'Firmware Update', 'Graph.Firmware.Update'),
  ];
  const pollers = compute.flatMap((node, i) => [makePoller(i * 2 + 1, node, 'sdr'), makePoller(i * 2 + 2, node, 'sel')]);
  const logs = [
    makeLog(1, compute[0]!, 'info', 'Graph Discovery started', { graphInstance: workflows[0]!.instanceId as string }),
    makeLog(2, compute[0]!, 'debug', 'Running task bootstrap-ubuntu', { graphInstance: workflows[0]!.instanceId as string }),
    makeLog(3, compute[0]!, 'info', 'Graph Discovery succeeded', { graphInstance: workflows[0]!.instanceId as string }),
    makeLog(4, compute[1]!, 'info', 'Graph Discovery started', { graphInstance: workflows[1]!.instanceId as string }),
    makeLog(5, compute[1]!, 'info', 'Running task catalog-dmi', { graphInstance: workflows[1]!.instanceId as string }),
    makeLog(6, compute[2]!, 'warning', 'BMC did not answer, retrying', { graphInstance: workflows[2]!.instanceId as string }),
    makeLog(7, compute[2]!, 'error', 'Task catalog-bmc failed: ipmitool timed out', { graphInstance: workflows[2]!.instanceId as string }),
    makeLog(8, 'Server', 'info', 'on-taskgraph started'),
  ];
  const events = [
    makeEvent(1, 'graph', 'started', workflows[1]!.instanceId as string, compute[1]!, { graphName: 'Discovery' }),
    makeEvent(2, 'graph', 'finished', workflows[0]!.instanceId as string, compute[0]!, { graphName: 'Discovery', status: 'succeeded' }),
    makeEvent(3, 'node', 'discovered', compute[3]!, compute[3]!, {}),
  ];
  return { nodes, skus: SKUS.map((s) => ({ ...s })), catalogs, workflows, pollers, logs, events };
}
