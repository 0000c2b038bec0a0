/**
 * The message inspector: a WebSocket wrapper that records every frame in and out (handler, channel, size),
 * and the view listing the last frames. The wrapper is injected through the client's `WebSocket` option, the
 * same seam the mock uses — no global is patched.
 */
import { channelFromUrl, type WebSocketConstructor, type WebSocketLike } from '../../client/index.js';
import { byteSize, h, mount } from './dom.js';
import type { Lifetime } from './live.js';

/** One recorded frame. */
export interface Frame {
  seq: number;
  dir: 'in' | 'out';
  channel: string;
  handler: string;
  size: number;
  text: string;
  at: number;
}

/** A bounded log of frames with change notification. */
export class FrameLog {
  readonly frames: Frame[] = [];
  private seq = 0;
  private readonly listeners = new Set<() => void>();
  /** Frames counted since the page opened, by direction. */
  readonly totals = { in: 0, out: 0 };

  constructor(readonly limit = 300) {}

  record(dir: 'in' | 'out', channel: string, text: string): void {
    let handler = '?';
    let resource = channel;
    try {
      const msg = JSON.parse(text) as { handler?: unknown; resource?: unknown };
      if (typeof msg.handler === 'string') handler = msg.handler;
      if (typeof msg.resource === 'string') resource = msg.resource;
    } catch {
      handler = '(not JSON)';
    }
    this.totals[dir]++;
    this.frames.push({ seq: ++this.seq, dir, channel: resource, handler, size: byteSize(text), text, at: Date.now() });
    if (this.frames.length > this.limit) this.frames.splice(0, this.frames.length - this.limit);
    for (const fn of this.listeners) fn();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clear(): void {
    this.frames.length = 0;
    for (const fn of this.listeners) fn();
  }
}

/** Wraps a WebSocket class so every frame through it is recorded in `log`. */
export function inspecting(Base: WebSocketConstructor, log: FrameLog): WebSocketConstructor {
  return class InspectedWebSocket implements WebSocketLike {
    readonly #inner: WebSocketLike;
    readonly #channel: string;
    #onmessage: WebSocketLike['onmessage'] = null;

    constructor(url: string, protocols?: string[]) {
      this.#inner = new Base(url, protocols);
      this.#channel = channelFromUrl(url);
    }
    get readyState(): number {
      return this.#inner.readyState;
    }
    get onopen(): WebSocketLike['onopen'] {
      return this.#inner.onopen;
    }
    set onopen(fn) {
      this.#inner.onopen = fn;
    }
    get onclose(): WebSocketLike['onclose'] {
      return this.#inner.onclose;
    }
    set onclose(fn) {
      this.#inner.onclose = fn;
    }
    get onerror(): WebSocketLike['onerror'] {
      return this.#inner.onerror;
    }
    set onerror(fn) {
      this.#inner.onerror = fn;
    }
    get onmessage(): WebSocketLike['onmessage'] {
      return this.#onmessage;
    }
    set onmessage(fn) {
      this.#onmessage = fn;
      this.#inner.onmessage = fn
        ? (event) => {
            if (typeof event.data === 'string') log.record('in', this.#channel, event.data);
            fn(event);
          }
        : null;
    }
    send(data: string): void {
      log.record('out', this.#channel, data);
      this.#inner.send(data);
    }
    close(code?: number, reason?: string): void {
      this.#inner.close(code, reason);
    }
  };
}

/** Renders the inspector: the last frames, newest first, with a detail view of the selected one. */
export function inspectorView(root: HTMLElement, log: FrameLog, life: Lifetime): void {
  let selected: number | undefined;
  let paused = false;
  const render = life.renderer(() => {
    const rows = [...log.frames].reverse().slice(0, 150);
    const detail = log.frames.find((f) => f.seq === selected);
    mount(
      root,
      h(
        'header',
        {},
        h('h2', {}, 'Inspector'),
        h('span', { class: 'muted', 'data-testid': 'frame-totals' }, `${log.totals.in} in · ${log.totals.out} out`),
        h(
          'button',
          {
            onclick: () => {
              paused = !paused;
              return render();
            },
          },
          paused ? 'Resume' : 'Pause',
        ),
        h('button', { onclick: () => log.clear() }, 'Clear'),
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'data-testid': 'frames' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, ''),
              h('th', {}, 'handler'),
              h('th', {}, 'channel'),
              h('th', { class: 'num' }, 'bytes'),
              h('th', {}, 'time'),
            ),
          ),
          h(
            'tbody',
            {},
            ...rows.map((f) =>
              h(
                'tr',
                {
                  'data-testid': 'frame',
                  'data-dir': f.dir,
                  'data-handler': f.handler,
                  class: f.seq === selected ? 'selected' : '',
                  onclick: () => {
                    selected = f.seq;
                    return render();
                  },
                },
                h('td', { class: `dir ${f.dir}` }, f.dir === 'in' ? '↓' : '↑'),
                h('td', {}, h('code', {}, f.handler)),
                h('td', {}, f.channel),
                h('td', { class: 'num' }, f.size),
                h('td', { class: 'muted' }, new Date(f.at).toISOString().slice(11, 23)),
              ),
            ),
          ),
        ),
      ),
      detail ? h('pre', { class: 'frame-detail', 'data-testid': 'frame-detail' }, pretty(detail.text)) : null,
    );
  });
  life.add(log.subscribe(() => !paused && render()));
  render();
}

function pretty(text: string): string {
  try {
    const s = JSON.stringify(JSON.parse(text), null, 2);
    return s.length > 20_000 ? `${s.slice(0, 20_000)}\n…` : s;
  } catch {
    return text;
  }
}
