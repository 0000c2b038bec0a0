/**
 * The top-level keys each record type of `protocol/records.ts` declares, as data, so a test can hold what the server
 * sends against the types (test/records.test.ts). The compiler keeps these tables equal to the types: `Presence<T>`
 * requires every key of `T`, refuses a key `T` lacks, and says whether `T` requires it. They live here and not beside
 * the types so that no client bundle carries them.
 */
import type { ChannelName, ChannelRecords } from '../../protocol/index.js';

/** Whether a record type requires a key. */
export type KeyPresence = 'required' | 'optional';

/** Every key of `T`, with whether `T` requires it. */
export type Presence<T> = { readonly [K in keyof T]-?: Pick<T, K> extends Required<Pick<T, K>> ? 'required' : 'optional' };

const RENDERABLE = {
  id: 'required',
  name: 'required',
  scope: 'required',
  hash: 'required',
  path: 'required',
  createdAt: 'required',
  updatedAt: 'required',
} as const;

/** The keys of every channel's record type (`ChannelRecords`), by channel. */
export const RECORD_KEYS: { readonly [C in ChannelName]: Presence<ChannelRecords[C]> } = {
  nodes: {
    id: 'required',
    name: 'required',
    type: 'required',
    sku: 'optional',
    identifiers: 'optional',
    obms: 'optional',
    relations: 'optional',
    tags: 'optional',
    autoDiscover: 'optional',
    bootSettings: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  catalogs: { id: 'required', node: 'required', source: 'required', data: 'required', createdAt: 'required', updatedAt: 'required' },
  skus: {
    id: 'required',
    name: 'required',
    rules: 'required',
    discoveryGraphName: 'optional',
    discoveryGraphOptions: 'optional',
    httpStaticRoot: 'optional',
    httpTemplateRoot: 'optional',
    httpProfileRoot: 'optional',
    workflowRoot: 'optional',
    taskRoot: 'optional',
    skuConfig: 'optional',
    version: 'optional',
    description: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  workflows: {
    id: 'required',
    instanceId: 'required',
    name: 'required',
    injectableName: 'required',
    node: 'optional',
    _status: 'required',
    tasks: 'required',
    context: 'required',
    definition: 'optional',
    logContext: 'optional',
    progress: 'optional',
    serviceGraph: 'optional',
    parentTaskId: 'optional',
    parentGraphId: 'optional',
    pendingDeletion: 'optional',
    error: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  pollers: {
    id: 'required',
    name: 'required',
    node: 'required',
    config: 'required',
    pollInterval: 'required',
    nextScheduled: 'optional',
    lastStarted: 'optional',
    lastFinished: 'optional',
    leaseToken: 'optional',
    leaseExpires: 'optional',
    failureCount: 'required',
    paused: 'required',
    state: 'optional',
    createdAt: 'optional',
    updatedAt: 'optional',
  },
  graphdefinitions: {
    id: 'required',
    friendlyName: 'required',
    injectableName: 'required',
    tasks: 'required',
    options: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  taskdefinitions: {
    id: 'required',
    friendlyName: 'required',
    injectableName: 'required',
    implementsTask: 'required',
    options: 'required',
    properties: 'required',
    optionsSchema: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  templates: RENDERABLE,
  profiles: RENDERABLE,
  files: {
    id: 'required',
    basename: 'required',
    filename: 'required',
    uuid: 'required',
    md5: 'required',
    sha256: 'required',
    version: 'required',
    createdAt: 'required',
    updatedAt: 'required',
  },
  lookups: {
    id: 'required',
    node: 'optional',
    macAddress: 'required',
    ipAddress: 'optional',
    proxy: 'optional',
    createdAt: 'required',
    updatedAt: 'required',
  },
  logs: {
    id: 'required',
    name: 'optional',
    package: 'optional',
    host: 'required',
    module: 'required',
    level: 'required',
    message: 'required',
    context: 'optional',
    timestamp: 'required',
    caller: 'required',
    subject: 'required',
  },
  events: {
    id: 'required',
    type: 'required',
    action: 'required',
    typeId: 'required',
    nodeId: 'optional',
    severity: 'required',
    data: 'required',
    version: 'required',
    createdAt: 'required',
  },
  mq: { id: 'required', exchange: 'required', routingKey: 'required', payload: 'required' },
};

/**
 * What is wrong with `record` as a record of `channel`: the keys its type does not declare, and the keys its type
 * requires that it lacks (`exempt` left out: an append-only fixture gets its `id` from the server). Empty when it fits.
 */
export function keyMismatch(channel: ChannelName, record: object, exempt: readonly string[] = []): string[] {
  const declared: Readonly<Record<string, KeyPresence>> = RECORD_KEYS[channel];
  const keys = Object.keys(record);
  const undeclared = keys.filter((k) => !Object.hasOwn(declared, k)).map((k) => `${channel}: undeclared key "${k}"`);
  const missing = Object.keys(declared)
    .filter((k) => declared[k] === 'required' && !keys.includes(k) && !exempt.includes(k))
    .map((k) => `${channel}: missing required key "${k}"`);
  return [...undeclared, ...missing];
}
