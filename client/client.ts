/**
 * `createClient`: one `Connection` per channel under one base URL, connected and disconnected together.
 * Channels stay separate connections (as RackHD's UI used them), so one channel's refusal or reconnect never
 * disturbs another's store.
 */
import type { RecordOf } from '../protocol/records.js';
import { Connection, type ConnectionOptions } from './connection.js';

/** Options of `createClient`: the base URL, the channels, and `ConnectionOptions` shared by every channel. */
export interface ClientOptions<C extends string = string> extends ConnectionOptions {
  /**
   * Base URL (`ws://host:port`, optionally with a path prefix) or a list of them for failover; each channel
   * connects to `<base>/<channel>`. Trailing slashes are ignored.
   */
  url: string | readonly string[];
  /** Channel names, e.g. `['nodes', 'workflows', 'logs']`; each gets its own `Connection` and store. */
  channels: readonly C[];
}

/**
 * The connections of a `createClient` call, by channel name. Each is typed with its channel's record type
 * (`ChannelRecords`: `nodes` → `Connection<Node>`, `graphObjs` → `Connection<Workflow>`); a channel
 * `ChannelRecords` does not name is a `Connection<Doc>`.
 */
export interface Client<C extends string = string> {
  /** Every channel's connection, typed by the channel names given. */
  readonly channels: { readonly [K in C]: Connection<RecordOf<K>> };
  /**
   * The connection of one channel.
   * @throws Error when the client has no such channel (possible only from untyped code).
   */
  channel<K extends C>(name: K): Connection<RecordOf<K>>;
  /** Connects every channel that is not connected. */
  connect(): void;
  /** Disconnects every channel (close 1000, no reconnect). */
  disconnect(): void;
}

/**
 * Creates one `Connection` per channel at `<url>/<channel>`; with a URL list, every channel gets the list.
 * @example
 * const client = createClient({ url: 'ws://localhost:9100', channels: ['nodes', 'workflows', 'logs'] });
 * client.channels.nodes.watch({ type: 'compute' });
 */
export function createClient<const C extends string>(options: ClientOptions<C>): Client<C> {
  const { url, channels: names, ...connectionOptions } = options;
  const bases = (typeof url === 'string' ? [url] : [...url]).map((base) => base.replace(/\/+$/, ''));
  // No prototype: a channel called "constructor" or "toString" is just a channel.
  const channels = Object.create(null) as Record<C, Connection<object>>;
  for (const name of names) {
    channels[name] = new Connection(
      bases.map((base) => `${base}/${encodeURIComponent(name)}`),
      connectionOptions,
    );
  }
  const all = (): Connection<object>[] => Object.values(channels);
  return {
    channels: Object.freeze(channels) as Client<C>['channels'],
    channel(name) {
      const connection = channels[name] as Connection<RecordOf<typeof name>> | undefined;
      if (connection === undefined) {
        throw new Error(`monorail-ws: no channel "${name}" in this client; it has: ${names.join(', ')}`);
      }
      return connection;
    },
    connect: () => {
      for (const c of all()) c.connect();
    },
    disconnect: () => {
      for (const c of all()) c.disconnect();
    },
  };
}
