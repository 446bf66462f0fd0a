// Seeded random streams. Every random choice in training (initial weights, the epoch's sample
// order, each sample's distortion) comes from its own stream, named by integers, so that it
// does not depend on which thread asks or in which order: stream(seed, PURPOSE, a, b) is a pure
// function of its arguments.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export type { RandomGenerator };

/** What a stream is for; part of its name, so streams for different purposes never coincide. */
export const Purpose = { init: 1, shuffle: 2, augment: 3 } as const;

// murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator named by integer parts (each taken modulo 2^32). */
export function stream(...parts: number[]): RandomGenerator {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32(h ^ fmix32((p >>> 0) + 0x7f4a7c15));
  return xoroshiro128plus(h | 0);
}

/** Uniform in [0, 1) with 53 random bits. */
export function uniform01(rng: RandomGenerator): number {
  return uniformFloat64(rng);
}

/** Uniform integer in [from, to] (both included), without modulo bias. */
export function randomInt(rng: RandomGenerator, from: number, to: number): number {
  return uniformInt(rng, from, to);
}

/** The epoch's sample order: a Fisher-Yates permutation of 0..n-1 from stream(seed, shuffle, epoch). */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = stream(seed, Purpose.shuffle, epoch);
  for (let i = n - 1; i > 0; i--) {
    const k = randomInt(rng, 0, i);
    const t = perm[i];
    perm[i] = perm[k];
    perm[k] = t;
  }
  return perm;
}
