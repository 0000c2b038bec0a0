/**
 * A small deterministic PRNG (mulberry32), shared by the demo simulator, the fault tests and the benchmarks: each
 * must be reproducible from a seed (a failing run replayed, every bench process deriving the same data), which
 * Math.random cannot give. Browser-safe. Not for anything secret (session ids use crypto.getRandomValues).
 */

/** Returns a function giving numbers in [0, 1), the same sequence for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
