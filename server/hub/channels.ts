/**
 * Server-side channel table: where each channel's snapshots and changes come from in RackHD
 * (docs/rackhd.md "Channels"). Browser-safe; the Mongo and AMQP modules read it, the memory backend and the hub too.
 */
import { CHANNELS, type ChannelName } from '../../protocol/index.js';

/** How the server serves one channel. */
export interface ChannelSpec {
  /** Channel name as it appears in URLs and `resource`. */
  readonly name: string;
  /** Field holding the record id. */
  readonly idField: string;
  /** Append-only channels keep a bounded history and never send `remove`. */
  readonly appendOnly: boolean;
  /** Other names the channel answers to (RackHD's `graphObjs`). */
  readonly aliases?: readonly string[];
  /** MongoDB collection with the records (absent: the channel has no collection). */
  readonly collection?: string;
  /** The waterline collection name in `on.waterline` routing keys (`<collection>.<event>.<id>`). */
  readonly waterline?: string;
  /** Append-only channels: history is kept per value of this field (logs: per `subject`). */
  readonly historyKey?: string;
  /**
   * Append-only channels: entries kept per history key.
   * @default DEFAULTS.historyLimit (1000)
   */
  readonly historyLimit?: number;
  /**
   * Whether a client that re-watches with a position may resume here (when the server's `resume` is on); `false`:
   * every watch gets a full `list`. Off for channels whose source changes without telling the feeds — RackHD writes
   * `workitems` (pollers) and `lookups` without publishing anything (docs/rackhd.md "Channels"), so only a fresh read
   * sees those changes, and a resume would keep a client wrong until its next reconnect.
   * @default true
   */
  readonly resume?: boolean;
}

function spec(name: ChannelName, extra: Omit<ChannelSpec, 'name' | 'idField' | 'appendOnly'>): ChannelSpec {
  return { name, idField: CHANNELS[name].idField, appendOnly: CHANNELS[name].appendOnly, ...extra };
}

/** RackHD's channels, in the order the docs list them. */
export const DEFAULT_CHANNELS: readonly ChannelSpec[] = [
  spec('nodes', { collection: 'nodes', waterline: 'nodes' }),
  spec('catalogs', { collection: 'catalogs', waterline: 'catalogs' }),
  spec('skus', { collection: 'skus', waterline: 'skus' }),
  spec('workflows', { collection: 'graphobjects', waterline: 'graphobjects', aliases: ['graphObjs'] }),
  // RackHD changes these without publishing (the task-graph store's checkoutTimer and updatePollerStatus, lookups'
  // setIpMongo): only a fresh read is right, so they re-snapshot on every watch.
  spec('pollers', { collection: 'workitems', waterline: 'workitems', resume: false }),
  spec('graphdefinitions', { collection: 'graphdefinitions', waterline: 'graphdefinitions', aliases: ['graphDefs'] }),
  spec('taskdefinitions', { collection: 'taskdefinitions', waterline: 'taskdefinitions', aliases: ['taskDefs'] }),
  spec('templates', { collection: 'templates', waterline: 'templates' }),
  spec('profiles', { collection: 'profiles', waterline: 'profiles' }),
  spec('files', { collection: 'files', waterline: 'files' }),
  spec('lookups', { collection: 'lookups', waterline: 'lookups', resume: false }),
  spec('logs', { historyKey: 'subject' }),
  spec('events', {}),
  // Served by the hub's MqService (mq.ts), not by a source: a live view of RabbitMQ topics.
  spec('mq', {}),
];

/** Looks channels up by name or alias. */
export class ChannelRegistry {
  private readonly byName = new Map<string, ChannelSpec>();
  readonly specs: readonly ChannelSpec[];

  constructor(specs: readonly ChannelSpec[] = DEFAULT_CHANNELS) {
    this.specs = specs;
    for (const s of specs) {
      for (const name of [s.name, ...(s.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`channel name "${name}" is defined twice`);
        this.byName.set(name, s);
      }
    }
  }

  /** The spec for a channel name or alias, or undefined. */
  get(name: string): ChannelSpec | undefined {
    return this.byName.get(name);
  }

  /** The channel whose records live in this waterline collection. */
  byWaterline(collection: string): ChannelSpec | undefined {
    return this.specs.find((s) => s.waterline === collection);
  }
}
