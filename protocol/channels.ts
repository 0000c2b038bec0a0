/**
 * The channel table shared by client and server: how records of each channel are identified and whether the
 * channel is append-only. Server-side sources (Mongo collections, RabbitMQ topics) live in `server/hub/channels.ts`.
 */

/** How a client and a server treat one channel's records. */
export interface ChannelInfo {
  /** Field holding the record id. */
  readonly idField: string;
  /** Append-only channels (`logs`, `events`) never reconcile records away; they keep a bounded history. */
  readonly appendOnly: boolean;
}

/**
 * RackHD's channels: every resource its 1.x socket server (on-wss) served, named after their MongoDB collections
 * where RackHD's socket names differ (aliases below). `graphObjs` is RackHD's name for `workflows`.
 */
export const CHANNELS = {
  nodes: { idField: 'id', appendOnly: false },
  catalogs: { idField: 'id', appendOnly: false },
  skus: { idField: 'id', appendOnly: false },
  workflows: { idField: 'instanceId', appendOnly: false },
  pollers: { idField: 'id', appendOnly: false },
  graphdefinitions: { idField: 'id', appendOnly: false },
  taskdefinitions: { idField: 'id', appendOnly: false },
  templates: { idField: 'id', appendOnly: false },
  profiles: { idField: 'id', appendOnly: false },
  files: { idField: 'id', appendOnly: false },
  lookups: { idField: 'id', appendOnly: false },
  logs: { idField: 'id', appendOnly: true },
  events: { idField: 'id', appendOnly: true },
  /** RabbitMQ topics (`watch {exchange, routingKey}`), a stream like `logs`. */
  mq: { idField: 'id', appendOnly: true },
} as const satisfies Record<string, ChannelInfo>;

export type ChannelName = keyof typeof CHANNELS;

/** Other names a channel answers to: RackHD's socket resource names. */
export const CHANNEL_ALIASES: Readonly<Record<string, ChannelName>> = {
  graphObjs: 'workflows',
  graphDefs: 'graphdefinitions',
  taskDefs: 'taskdefinitions',
};

/** Info for a channel name or alias; custom channels default to `{idField: 'id', appendOnly: false}`. */
export function channelInfo(name: string): ChannelInfo {
  // Own properties only: `constructor`, `toString` or `__proto__` are channel names like any other, not
  // lookups into Object.prototype.
  const canonical = canonicalChannel(name);
  return Object.hasOwn(CHANNELS, canonical) ? CHANNELS[canonical as ChannelName] : { idField: 'id', appendOnly: false };
}

/** The channels `CHANNELS` marks append-only (for `storeDefaults`). */
const APPEND_ONLY_CHANNELS: readonly string[] = ['logs', 'events', 'mq'];

/**
 * `channelInfo` without the table, for the client's store: the same answer for every name (a test compares the two
 * on every channel, alias and stranger), written from the one id field that is not `id` and the append-only
 * channels, so that a browser bundle does not carry `CHANNELS` (70 B gzip of the client's core).
 */
export function storeDefaults(name: string): ChannelInfo {
  const channel = canonicalChannel(name);
  return { idField: channel === 'workflows' ? 'instanceId' : 'id', appendOnly: APPEND_ONLY_CHANNELS.includes(channel) };
}

/** The channel a name stands for: the name itself, or the channel it is an alias of (`graphObjs` → `workflows`). */
export function canonicalChannel(name: string): string {
  // Own keys only: a channel named "constructor" is not an alias of Object.
  return Object.hasOwn(CHANNEL_ALIASES, name) ? CHANNEL_ALIASES[name]! : name;
}

/**
 * The channel a URL addresses: its last non-empty path segment (`/nodes`, `/nodes/`, `/api/ws/nodes` → `nodes`).
 * Returns `''` for `/`.
 */
export function channelFromUrl(url: string): string {
  // The query and fragment go first, so a "/" inside `?token=a/b` is never taken for the path; then the scheme
  // and authority, which end at the first "/" after "://".
  const path = url.split(/[?#]/)[0]!.replace(/^[\s\S]*?:\/\/[^/]*/, '');
  const last =
    path
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
