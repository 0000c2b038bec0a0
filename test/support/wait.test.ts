/**
 * `waitFor`, the one way tests wait for a condition: it resolves with the check's value, takes async checks, stops
 * on a check that throws, and a timeout names what was awaited.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('resolves with the first truthy value the check returns', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined));
    expect(value).toEqual({ calls: 3 });
  });

  it('resolves at once, without a turn of the event loop, when the condition already holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls);
    expect(calls).toBe(1);
  });

  it('takes an async check and resolves with what it resolved to', async () => {
    let calls = 0;
    const value = await waitFor(async () => (++calls === 2 ? 'ready' : false));
    expect(value).toBe('ready');
    expect(calls).toBe(2);
  });

  it('fails after the timeout with a message naming what was awaited', async () => {
    await expect(waitFor(() => false, 20, 'the broker to come back')).rejects.toThrow(
      'timed out after 20 ms waiting for the broker to come back',
    );
  });

  it('without a name, the message quotes the check itself', async () => {
    const frames: string[] = [];
    await expect(waitFor(() => frames.length === 2, 20)).rejects.toThrow(/waiting for frames\.length === 2$/);
  });

  it('an async check that never holds fails the same way', async () => {
    await expect(waitFor(async () => null, 20, 'a database read')).rejects.toThrow('timed out after 20 ms waiting for a database read');
  });

  it('a check that throws stops the wait with its error (a writer that failed, a child that died)', async () => {
    let calls = 0;
    const failing = waitFor(() => {
      if (++calls === 2) throw new Error('the writer failed');
      return false;
    });
    await expect(failing).rejects.toThrow('the writer failed');
    expect(calls).toBe(2);
  });
});
