/**
 * What clients send to a mock, as the mock's hub receives it: every valid client frame with its channel, recorded from
 * the moment `recordFrames` is called. For tests that count `watch` and `stop` frames (the React bindings, the Vue
 * and Svelte recipes) rather than infer them from the store.
 */
import type { MockServer } from '../../mock/index.js';
import type { ClientMessage } from '../../protocol/index.js';

/** One frame a client sent. */
export interface RecordedFrame {
  readonly channel: string;
  readonly message: ClientMessage;
}

/** The frames recorded so far. */
export interface FrameRecorder {
  readonly frames: readonly RecordedFrame[];
  /** The frames of one handler (`watch`, `stop`, …), optionally on one channel, as `handler params` strings. */
  of(handler: ClientMessage['handler'], channel?: string): string[];
  /** Stops recording. */
  stop(): void;
}

/** Records every frame the mock's clients send from now on (connections opened later included). */
export function recordFrames(mock: MockServer): FrameRecorder {
  const frames: RecordedFrame[] = [];
  const stop = mock.hub.onConnection((conn) => {
    conn.on('message', (message) => frames.push({ channel: conn.channel, message }));
  });
  return {
    frames,
    of: (handler, channel) =>
      frames
        .filter((f) => f.message.handler === handler && (channel === undefined || f.channel === channel))
        .map((f) => `${handler} ${JSON.stringify('params' in f.message ? f.message.params : undefined)}`),
    stop,
  };
}
