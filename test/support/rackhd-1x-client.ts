/**
 * A client that behaves as RackHD's 1.x web UI does, written from on-web-ui (revision 166ca1b) in our own code:
 * `src/common/lib/Messenger.js` (one socket per channel at `ws://<RackHD_WSS>/<channel>`, no subprotocol, `init` on
 * open, every frame parsed then emitted as `message` and as its handler on a Node-style EventEmitter — so an
 * `error` frame, which nothing listens for, throws inside the socket handler — and `exec` sending
 * `{handler, resource, params}` through JSON.stringify), `src/common/lib/Store.js` (`startMessenger` watches with no
 * params and applies `item` ids `['created'|'updated', id]` and `remove`, ignoring anything else;
 * `stopMessenger` sends `stop` with `resource: null, params: null` and disconnects at once), and
 * `src/common/messengers/*` with `src/management_console/lib/*Monitor*` (the `mq` watches and their filters).
 * The 30 s reconnect is left out: the tests end every socket themselves.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'isomorphic-ws';

type Msg = { handler: string; resource?: string; id?: unknown; data?: unknown; items?: unknown[]; [key: string]: unknown };

/** Messenger.js: one socket to one channel. */
export class LegacyMessenger extends EventEmitter {
  id: string | undefined;
  ws: WebSocket | undefined;
  /** What the browser would log as uncaught exceptions thrown from `onmessage` (an unlistened `error` event). */
  readonly uncaught: unknown[] = [];
  /** Every frame received, parsed. */
  readonly received: Msg[] = [];

  constructor(
    /** The UI's `RackHD_WSS` setting: `host:port`, possibly with a path (`127.0.0.1:9100/rackhd`). */
    readonly host: string,
    readonly channel: string,
  ) {
    super();
  }

  /** Opens the socket, sends `init`, resolves with the session id. */
  connect(): Promise<string> {
    const ws = new WebSocket(`ws://${this.host}/${this.channel}`);
    this.ws = ws;
    ws.onmessage = (event) => {
      try {
        const msg = JSON.parse(String(event.data)) as Msg;
        this.received.push(msg);
        this.emit('message', msg);
        this.emit(msg.handler, msg);
      } catch (err) {
        this.uncaught.push(err);
      }
    };
    return new Promise((resolve, reject) => {
      ws.onerror = (e) => reject(new Error(String((e as { message?: string }).message ?? 'socket error')));
      ws.onopen = () => {
        this.once('session', (msg: Msg) => {
          this.id = String(msg.id);
          resolve(this.id);
        });
        ws.send(JSON.stringify({ handler: 'init' }));
      };
    });
  }

  /** Messenger.exec: `undefined` fields vanish in JSON, `null` ones are sent as `null`. */
  exec(handler: string, params?: unknown, resource?: unknown): void {
    this.ws!.send(JSON.stringify({ handler, resource, params }));
  }

  query(params: unknown, resource?: string): void {
    this.exec('query', params, resource);
  }
  all(resource?: string): void {
    this.exec('all', undefined, resource);
  }
  get(params: unknown, resource?: string): void {
    this.exec('get', params, resource);
  }
  watch(params?: unknown, resource?: string): void {
    this.exec('watch', params, resource);
  }
  stop(params?: unknown, resource?: unknown): void {
    this.exec('stop', params, resource);
  }

  disconnect(): void {
    this.ws?.close();
  }

  /** Resolves with the next frame with this handler (or any), from now on. */
  next(handler?: string): Promise<Msg> {
    return new Promise((resolve) => {
      const on = (msg: Msg) => {
        if (handler && msg.handler !== handler) return;
        this.off('message', on);
        resolve(msg);
      };
      this.on('message', on);
    });
  }
}

/** Store.js with a Messenger: records by id, changed only through insert/change/remove. */
export class LegacyStore {
  readonly records = new Map<string, unknown>();
  /** Every call the messenger made, in order, as the stores' subclasses would see them. */
  readonly calls: Array<['insert' | 'change' | 'remove', string]> = [];
  readonly messenger: LegacyMessenger;

  constructor(host: string, resource: string) {
    this.messenger = new LegacyMessenger(host, resource);
  }

  async startMessenger(): Promise<void> {
    await this.messenger.connect();
    this.messenger.on('message', (msg: Msg) => {
      // An item whose id is not an array is ignored: "6ae…"[0] is "6", neither created nor updated.
      if (msg.handler === 'item' && Array.isArray(msg.id)) {
        const [event, id] = msg.id as [unknown, unknown];
        if (event === 'created') this.insert(String(id), msg.data);
        else if (event === 'updated') this.change(String(id), msg.data);
      } else if (msg.handler === 'remove') {
        this.remove(String(msg.id));
      }
    });
    this.messenger.watch();
  }

  stopMessenger(): void {
    this.messenger.stop(null, null);
    this.messenger.disconnect();
  }

  insert(id: string, data: unknown): void {
    this.calls.push(['insert', id]);
    this.records.set(id, data);
  }
  change(id: string, data: unknown): void {
    this.calls.push(['change', id]);
    this.records.set(id, data);
  }
  remove(id: string): void {
    this.calls.push(['remove', id]);
    this.records.delete(id);
  }
}

/** LogsMessenger / EventsMessenger: the `mq` channel, watching one exchange with `#`. */
export class LegacyMqMessenger extends LegacyMessenger {
  constructor(
    host: string,
    readonly exchange: 'on.logging' | 'on.events',
  ) {
    super(host, 'mq');
  }
  start(): void {
    this.watch({ exchange: this.exchange, routingKey: '#' });
  }
  end(): void {
    this.stop({ exchange: this.exchange, routingKey: '#' });
  }
}

/** NodeMonitor's filter: log items whose `data.subject` is the node. */
export function nodeMonitorKeeps(msg: Msg, nodeId: string): boolean {
  return msg.handler === 'item' && (msg.data as { subject?: unknown } | undefined)?.subject === nodeId;
}

/** WorkflowMonitor's event filter: items whose id splits into `['graph', action, instanceId]` (the 1.x keys). */
export function workflowMonitorEvent(msg: Msg, instanceId: string): string | undefined {
  if (msg.handler !== 'item' || typeof msg.id !== 'string') return undefined;
  const [kind, action, id, ...rest] = msg.id.split('.');
  return kind === 'graph' && id === instanceId && rest.length === 0 ? action : undefined;
}
