/**
 * Positions as text (what parses, what is malformed), the channel epoch (one per marker epoch and channel), and the
 * timeline: own and external numbering, which marker governs an offset, waits for an offset, and a reset.
 */
import { describe, expect, it } from 'vitest';
import { channelEpoch, MAX_POSITION_LENGTH, parsePosition, Timeline } from './positions.js';

describe('parsePosition', () => {
  it('reads what the server writes: a channel epoch, a dot, a decimal offset', () => {
    expect(parsePosition('k2x9a0.1042')).toEqual({ epoch: 'k2x9a0', offset: 1042 });
    expect(parsePosition('a.0')).toEqual({ epoch: 'a', offset: 0 });
  });

  it.each([
    ['a number', 42],
    ['an object', { epoch: 'a', offset: 1 }],
    ['null', null],
    ['empty', ''],
    ['no offset', 'k2x9a0'],
    ['no epoch', '.12'],
    ['a negative offset', 'a.-1'],
    ['leading zeros', 'a.01'],
    ['upper case', 'A.1'],
    ['an offset past 2^53', 'a.9999999999999999'],
    ['three parts', 'a.1.2'],
    ['over the length bound', `${'a'.repeat(MAX_POSITION_LENGTH)}.1`],
  ])('%s is malformed', (_what, text) => {
    expect(parsePosition(text)).toBeUndefined();
  });
});

describe('channelEpoch', () => {
  it('differs per channel and per epoch, and is the same for the same pair', () => {
    const a = channelEpoch('e1', 'nodes');
    expect(a).toMatch(/^[0-9a-z]{1,11}$/);
    expect(channelEpoch('e1', 'nodes')).toBe(a);
    expect(channelEpoch('e1', 'workflows')).not.toBe(a);
    expect(channelEpoch('e2', 'nodes')).not.toBe(a);
    // The separator keeps ("e1n", "odes") apart from ("e1", "nodes").
    expect(channelEpoch('e1n', 'odes')).not.toBe(a);
  });
});

describe('Timeline', () => {
  it('own: numbers changes from 1 under one epoch drawn at start, another for another timeline', () => {
    const t = new Timeline({ external: false, maxMarkers: 10 });
    expect(t.head).toBe(0);
    expect([t.next(), t.next()]).toEqual([1, 2]);
    expect(t.head).toBe(2);
    expect(t.epochAt(0)).toMatch(/^[0-9a-f]{12}$/);
    expect(t.epochAt(2)).toBe(t.epochAt(0));
    expect(new Timeline({ external: false, maxMarkers: 10 }).epochAt(0)).not.toBe(t.epochAt(0));
  });

  it('external: the marker at or before an offset governs it; none before the first one remembered', () => {
    const t = new Timeline({ external: true, maxMarkers: 3 });
    expect(t.head).toBe(-1);
    expect(t.epochAt(5)).toBeUndefined();
    t.mark(10, 'a');
    t.mark(20, 'b');
    t.mark(15, 'older'); // out of order: ignored
    expect([t.epochAt(9), t.epochAt(10), t.epochAt(19), t.epochAt(20), t.epochAt(1e9)]).toEqual([undefined, 'a', 'a', 'b', 'b']);
    t.mark(30, 'c');
    t.mark(40, 'd'); // past maxMarkers: the oldest goes, and what it governed is unknown
    expect(t.markerCount).toBe(3);
    expect([t.epochAt(15), t.epochAt(25), t.epochAt(35), t.epochAt(45)]).toEqual([undefined, 'b', 'c', 'd']);
  });

  it('external: issue moves the highest offset given, advance the head; waits fire when the head reaches them', () => {
    const t = new Timeline({ external: true, maxMarkers: 3 });
    const fired: number[] = [];
    t.wait(5, () => fired.push(5));
    const cancel = t.wait(7, () => fired.push(7));
    t.wait(9, () => fired.push(9));
    t.issue(5);
    expect([t.head, t.issued, fired]).toEqual([-1, 5, []]);
    t.advance(5);
    expect(fired).toEqual([5]);
    cancel();
    t.advance(8);
    expect(fired).toEqual([5]);
    t.advance(3); // never backwards
    expect(t.head).toBe(8);
    t.advance(12);
    expect(fired).toEqual([5, 9]);
    t.wait(12, () => fired.push(12)); // already reached: at once
    expect(fired).toEqual([5, 9, 12]);
  });

  it('reset forgets markers and offsets and tells its listeners', () => {
    const t = new Timeline({ external: true, maxMarkers: 3 });
    t.mark(0, 'a');
    t.advance(10);
    let resets = 0;
    const off = t.onReset(() => resets++);
    t.reset();
    expect([t.head, t.issued, t.epochAt(10), resets]).toEqual([-1, -1, undefined, 1]);
    off();
    t.reset();
    expect(resets).toBe(1);
  });
});
