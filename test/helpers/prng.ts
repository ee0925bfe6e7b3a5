/** A deterministic PRNG (xorshift32) so a fuzzing failure can be replayed from its seed (RAFKA_FUZZ_SEED). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
