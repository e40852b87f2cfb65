/**
 * A small seeded PRNG (xorshift32) for the long-run fuzzer: fast, reproducible from one number,
 * and shaped as the same `Rand` interface the fast-check driven runs use.
 */

export interface Rand {
  /** An integer in [0, n). */
  int(n: number): number;
}

export class XorShift32 implements Rand {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  int(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }
}

/** Pick one element (the array must not be empty). */
export function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[r.int(xs.length)] as T;
}
