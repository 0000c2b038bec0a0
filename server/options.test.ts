import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../protocol/index.js';
import { hubOptions } from './options.js';

describe('hubOptions', () => {
  it('opens the coalescing window by default, and passes nothing else an application left out', () => {
    expect(hubOptions({})).toEqual({ coalesceWindowMs: DEFAULTS.coalesceWindowMs });
    expect(hubOptions({ coalesceWindowMs: 0 })).toEqual({ coalesceWindowMs: 0 });
  });

  it('passes every bound, authorize and mq that is set, as it is', () => {
    const authorize = () => true;
    const mq = { exchanges: ['on.events'] };
    const bounds = {
      maxListItems: 1,
      maxWatches: 2,
      maxInValues: 3,
      maxWatchBytes: 4,
      maxReadsInFlight: 5,
      maxReadBytes: 6,
      maxListBytes: 7,
    };
    const out = hubOptions({ ...bounds, authorize, mq, port: 0, host: '::1' });
    expect(out).toEqual({ coalesceWindowMs: DEFAULTS.coalesceWindowMs, ...bounds, authorize, mq });
    expect(out.authorize).toBe(authorize);
    expect(out.mq).toBe(mq);
  });
});
