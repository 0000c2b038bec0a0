import { describe, expect, it } from 'vitest';
import { contentId, fnv1a64, randomId } from './ids.js';

/** Reference FNV-1a 64 with BigInt, to check the 16-bit-limb implementation. */
function reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

describe('ids', () => {
  it('fnv1a64 matches the published test vectors and a BigInt reference', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
    for (const s of ['{"a":1}', 'x'.repeat(1000), 'héllo wörld', '\u{1F600}']) expect(fnv1a64(s)).toBe(reference(s));
  });

  it('contentId prefers the record’s own id and is independent of key order', () => {
    expect(contentId({ id: 'own', a: 1 })).toBe('own');
    expect(contentId({ a: 1, b: 2 })).toBe(contentId({ b: 2, a: 1 }));
    expect(contentId({ a: 1 })).not.toBe(contentId({ a: 2 }));
  });

  it('randomId gives 32 hex digits and does not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
});
