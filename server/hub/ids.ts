/**
 * Ids for append-only records (log lines, events) derived from their content, so every server instance that
 * receives the same broker message assigns the same id and clients never see duplicates after a failover.
 */
import { stableJson, type Doc } from '../../protocol/index.js';

/** 64-bit FNV-1a of a string, as 16 hex digits; deterministic and dependency-free (not cryptographic). */
export function fnv1a64(text: string): string {
  // Two 32-bit halves of the 64-bit FNV state, multiplied by the FNV prime 0x100000001b3 by hand.
  let h0 = 0x2325,
    h1 = 0x8422,
    h2 = 0x9ce4,
    h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    const t0 = h0 * 0x1b3,
      t1 = h1 * 0x1b3,
      t2 = h2 * 0x1b3 + (h0 << 8),
      t3 = h3 * 0x1b3 + (h1 << 8);
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16);
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = (t3 + (c2 >>> 16)) & 0xffff;
  }
  const hex = (n: number): string => n.toString(16).padStart(4, '0');
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
}

/** The id of an append-only record: its own `id` when it has one, else a hash of its canonical JSON. */
export function contentId(doc: Doc, idField = 'id'): string {
  const own = doc[idField];
  if (typeof own === 'string' && own !== '') return own;
  return fnv1a64(stableJson(doc));
}

/** Random session ids from `crypto.getRandomValues` (`randomUUID` needs a secure context a LAN page lacks). */
export function randomId(bytes = 16): string {
  const buf = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buf);
  // join, not +=: one flat string per session instead of a rope of 31 pieces kept for the connection's life.
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}
