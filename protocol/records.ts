/**
 * RackHD's records as the server sends them: one type per channel, written from on-core's waterline models
 * (`lib/models/*.js`), its LogEvent and event formats, and what this server's sources and demo data hold
 * (docs/rackhd.md "Channels"). Types only: nothing here reaches a bundle.
 *
 * Records are JSON: the sources turn MongoDB ObjectIds into 24-digit hex strings and Dates into ISO-8601 strings
 * before anything leaves them (`ObjectId`, `IsoDate` below name those strings). A field is required when RackHD's
 * model requires it or always sets it, optional when a record may lack it; RackHD may send more fields than these
 * (`Node & {extra: string}` reads them).
 *
 * Object types, not interfaces: a type literal whose fields are JSON is assignable to `Doc`, an interface is not (it
 * has no implicit index signature), so a `Connection<Node>` still goes where a `Connection` is expected and a `Node`
 * where a `Doc` is. `ChannelRecords` alone is an interface, so that an application can add its own channels to it.
 */
import type { Doc, JsonValue } from './messages.js';

/** A MongoDB ObjectId as the server sends it: 24 lower-case hex digits. */
export type ObjectId = string;
/** A date as the server sends it: ISO-8601 in UTC (`'2026-11-01T08:00:00.000Z'`). */
export type IsoDate = string;
/** A JSON object (free-form fields: a catalog's `data`, a task's `options`). */
export type JsonObject = { [key: string]: JsonValue };

/** Node types RackHD accepts (on-core `Constants.NodeTypes`). */
export type NodeType =
  | 'compute'
  | 'compute-container'
  | 'switch'
  | 'dae'
  | 'pdu'
  | 'mgmt'
  | 'enclosure'
  | 'rack'
  | 'storage'
  | 'iom'
  | 'cooling'
  | 'power'
  | 'redfish'
  | 'redfishManager';

/** How RackHD reaches a node's management controller: an OBM service and its settings. */
export type Obm = {
  /** `'ipmi-obm-service'`, `'snmp-obm-service'`, `'redfish-obm-service'` … */
  service: string;
  /** The service's settings (`host`, `user` …); RackHD keeps passwords encrypted. */
  config: JsonObject;
};

/** A relation from one node to others (`{relationType: 'enclosedBy', targets: [enclosureId]}`). */
export type NodeRelation = {
  relationType: string;
  /** `Node.id`s. */
  targets: ObjectId[];
  [key: string]: JsonValue;
};

/** A node (channel `nodes`, keyed by `id`): a machine, switch, PDU or enclosure RackHD discovered. */
export type Node = {
  id: ObjectId;
  /** For compute nodes discovered over PXE, their MAC address until renamed. */
  name: string;
  type: NodeType;
  /** The `Sku.id` the node was matched to, or null. */
  sku?: ObjectId | null;
  /** MAC addresses and other identifiers (serial numbers) the node is known by. */
  identifiers?: string[];
  /** Out-of-band management. The demo embeds them; RackHD 2.x keeps them in their own collection (`obms`). */
  obms?: Obm[];
  relations?: NodeRelation[];
  tags?: string[];
  autoDiscover?: boolean;
  bootSettings?: JsonObject;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/**
 * A catalog (channel `catalogs`): one `source` of facts about a node (`dmi`, `bmc`, `lldp`, `ohai` …). RackHD
 * replaces `.` and `$` in the keys of `data` with `_`, so dotted paths into `data` stay unambiguous.
 */
export type Catalog = {
  id: string;
  /** The `Node.id` it describes. */
  node: ObjectId;
  source: string;
  data: JsonObject;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** One rule of a SKU: a catalog `path` (`'dmi.System Information.Product Name'`) and checks (`contains`, `equals` …). */
export type SkuRule = {
  path: string;
  [check: string]: JsonValue;
};

/** A SKU (channel `skus`): a class of hardware, matched against nodes' catalogs; `Node.sku` links to it. */
export type Sku = {
  id: string;
  name: string;
  /** Every rule must match a node's catalogs for the node to get this SKU. */
  rules: SkuRule[];
  /** The `GraphDefinition.injectableName` run when a node is matched to this SKU (empty: none). */
  discoveryGraphName?: string;
  discoveryGraphOptions?: JsonObject;
  httpStaticRoot?: string;
  httpTemplateRoot?: string;
  httpProfileRoot?: string;
  workflowRoot?: string;
  taskRoot?: string;
  skuConfig?: JsonObject;
  version?: string;
  description?: string;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** States of a workflow and of its tasks (on-core `Constants.Task.States`). */
export type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timeout' | 'finished';

/** One task of a running workflow (`Workflow.tasks`, by task id); RackHD keeps the task's whole definition here. */
export type WorkflowTask = {
  label: string;
  /** The `TaskDefinition.injectableName` it runs. */
  injectableName: string;
  state: TaskState;
  [key: string]: JsonValue;
};

/** A workflow's progress as the demo data carries it (RackHD itself reports progress in `graph` events). */
export type WorkflowProgress = {
  value: number;
  maximum: number;
  /** `'50%'`. */
  percentage: string;
  description: string;
};

/**
 * A workflow (channel `workflows`, alias `graphObjs`; collection `graphobjects`, keyed by `instanceId`): one run
 * of a graph definition, usually against a node. Log lines link to it through `LogEvent.context.graphInstance`, events
 * through `RackHDEvent.typeId` (when `type` is `'graph'`).
 */
export type Workflow = {
  /** The MongoDB `_id`; the channel's key is `instanceId`. */
  id: ObjectId;
  /** A UUID: the channel's key, `get({instanceId})`. */
  instanceId: string;
  name: string;
  /** The `GraphDefinition.injectableName` it runs (`'Graph.SKU.Discovery'`). */
  injectableName: string;
  /** The `Node.id` it runs against. */
  node?: ObjectId | null;
  _status: TaskState;
  /** By task id. */
  tasks: { [taskId: string]: WorkflowTask };
  /** Shared state of the run; `target` is the node id, `graphId` the instanceId. */
  context: JsonObject;
  /** The graph definition it was created from. */
  definition?: JsonObject;
  /** What its log lines carry in their `context`. */
  logContext?: JsonObject;
  progress?: WorkflowProgress;
  serviceGraph?: boolean;
  parentTaskId?: string;
  parentGraphId?: string;
  pendingDeletion?: boolean;
  error?: JsonValue;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** A poller (channel `pollers`; collection `workitems`): a periodic IPMI/SNMP/Redfish job against a node. */
export type Poller = {
  id: ObjectId;
  /** `'Pollers.IPMI'`, `'Pollers.SNMP'` … */
  name: string;
  /** The `Node.id` polled. */
  node: ObjectId | null;
  /** What to run: `{command: 'sdr'}` … (RackHD leaves secrets out). */
  config: JsonObject;
  /** Milliseconds between two runs. */
  pollInterval: number;
  nextScheduled?: IsoDate | null;
  lastStarted?: IsoDate | null;
  lastFinished?: IsoDate | null;
  leaseToken?: string | null;
  leaseExpires?: IsoDate | null;
  failureCount: number;
  paused: boolean;
  /** `'accessible'` or `'inaccessible'` (the node stopped answering). */
  state?: string | null;
  /** RackHD's workitems have these; the demo's pollers do not. */
  createdAt?: IsoDate;
  updatedAt?: IsoDate;
};

/** Log levels (on-core `Constants.Logging.Levels`), most severe first. */
export type LogLevel = 'critical' | 'error' | 'warning' | 'info' | 'debug';

/** What a log line is about; task log lines carry their workflow's `logContext`. */
export type LogContext = JsonObject & {
  /** The `Workflow.instanceId` the line belongs to. */
  graphInstance?: string;
  graphName?: string;
};

/**
 * A log line (channel `logs`, append-only; RabbitMQ `on.logging`, routing key = level): on-core's LogEvent.
 * It links to its node through `subject` and to its workflow through `context.graphInstance`, so one workflow's lines
 * are `watch({'context.graphInstance': workflow.instanceId})`.
 */
export type LogEvent = {
  /** Derived from the content (the same on every server instance). */
  id: string;
  /** The service that logged (`'on-taskgraph'`). */
  name?: string;
  /** What older on-core versions called `name`. */
  package?: string;
  host: string;
  module: string;
  level: LogLevel;
  message: string;
  context?: LogContext;
  timestamp: IsoDate;
  /** `file:line` of the logging call. */
  caller: string;
  /** The `Node.id` the line is about, or `'Server'`. */
  subject: ObjectId | 'Server';
};

/**
 * A RackHD event (channel `events`, append-only; RabbitMQ `on.events`, routing key
 * `<type>.<action>.<severity>.<typeId>[.<nodeId>]`).
 */
export type RackHDEvent = {
  /** Derived from the content (the same on every server instance). */
  id: string;
  /** `'graph'`, `'node'`, `'polleralert'`, `'heartbeat'` … */
  type: string;
  /** `'started'`, `'finished'`, `'discovered'`, `'progress.updated'` … */
  action: string;
  /** The subject's id: a `Workflow.instanceId` for `graph` events, a `Node.id` for `node` events … */
  typeId: string;
  /** The `Node.id` concerned, if any. */
  nodeId?: ObjectId | null;
  /** `'information'`, `'warning'`, `'critical'` … */
  severity: string;
  /** `graph` events: `graphName`, `status` … */
  data: JsonObject;
  /** `'1.0'`. */
  version: string;
  createdAt: IsoDate;
};

/** One task of a graph definition; `waitOn` orders them (`{'<label>': 'succeeded'}`). */
export type GraphDefinitionTask = {
  label: string;
  /** The `TaskDefinition.injectableName` to run (or an inline `taskDefinition`). */
  taskName?: string;
  taskDefinition?: JsonObject;
  waitOn?: { [label: string]: string };
  ignoreFailure?: boolean;
  optionOverrides?: JsonObject;
};

/** A graph definition (channel `graphdefinitions`, alias `graphDefs`): the recipe a `Workflow` runs. */
export type GraphDefinition = {
  id: ObjectId;
  friendlyName: string;
  /** Unique: `'Graph.SKU.Discovery'`; `Workflow.injectableName` and `Sku.discoveryGraphName` name it. */
  injectableName: string;
  tasks: GraphDefinitionTask[];
  options?: JsonObject;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** A task definition (channel `taskdefinitions`, alias `taskDefs`). */
export type TaskDefinition = {
  id: ObjectId;
  friendlyName: string;
  /** Unique: `'Task.Linux.Bootstrap.Ubuntu'`. */
  injectableName: string;
  /** The base task it implements (`'Task.Base.Linux.Commands'`). */
  implementsTask: string;
  options: JsonObject;
  properties: JsonObject;
  optionsSchema?: JsonValue;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** What templates and profiles share (on-core's renderable model): a named file rendered for nodes. */
export type Renderable = {
  id: string;
  /** Unique within its scope. */
  name: string;
  /** `'global'`, or a SKU's scope. */
  scope: string;
  hash: string;
  /** Where RackHD keeps the file. */
  path: string;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** A template (channel `templates`): a script or answer file rendered for a node. */
export type Template = Renderable;
/** A profile (channel `profiles`): an iPXE script a node boots with. */
export type Profile = Renderable;

/** A file (channel `files`): what on-http keeps about an uploaded file. */
export type File = {
  id: ObjectId;
  basename: string;
  /** The stored name (`<basename>_<uuid>`). */
  filename: string;
  uuid: string;
  md5: string;
  sha256: string;
  version: number;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/** A lookup (channel `lookups`): which node a MAC address belongs to, and the IP address it leased. */
export type Lookup = {
  id: ObjectId;
  /** The `Node.id` with this MAC, or null before the node is discovered. */
  node?: ObjectId | null;
  macAddress: string;
  ipAddress?: string;
  proxy?: string;
  createdAt: IsoDate;
  updatedAt: IsoDate;
};

/**
 * A message of the `mq` channel (`watch({exchange, routingKey})`, append-only): one RabbitMQ message. `payload` is
 * what was published: a `LogEvent` without `id` on `on.logging`, a `RackHDEvent` without `id` (or a 1.x
 * `{graphId, graphName, status}`) on `on.events`.
 */
export type MqEntry<P = JsonValue> = {
  /** Derived from the content (the same on every server instance). */
  id: string;
  exchange: string;
  routingKey: string;
  payload: P;
};

/**
 * The record type of each channel, aliases included. `createClient` and `client.channel(name)` read it; a channel not
 * in it has `Doc` records. Extend it for a channel of your own:
 * @example
 * declare module 'monorail-ws/client' {
 *   interface ChannelRecords { racks: Rack }
 * }
 */
export interface ChannelRecords {
  nodes: Node;
  catalogs: Catalog;
  skus: Sku;
  workflows: Workflow;
  graphObjs: Workflow;
  pollers: Poller;
  graphdefinitions: GraphDefinition;
  graphDefs: GraphDefinition;
  taskdefinitions: TaskDefinition;
  taskDefs: TaskDefinition;
  templates: Template;
  profiles: Profile;
  files: File;
  lookups: Lookup;
  logs: LogEvent;
  events: RackHDEvent;
  mq: MqEntry;
}

/** The record type of channel `C`: `ChannelRecords[C]`, or `Doc` for a channel it does not know. */
export type RecordOf<C extends string> = C extends keyof ChannelRecords ? ChannelRecords[C] : Doc;
