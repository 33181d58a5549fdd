/**
 * Masks ("wildcards" in Open vSwitch, lib/flow.h struct flow_wildcards) over the fixed flow-key
 * layout of flow-layout.ts: a mask is FLOW_WORDS words, bit set = the bit matters. A megaflow is a
 * (masked key, mask) pair; a key matches it when `(key[i] & mask[i]) === rule[i]` for every word.
 *
 * Every function takes (array, base) pairs so that keys and masks can live inside larger typed
 * arrays (SharedArrayBuffer regions) and allocates nothing. Word values are unsigned 32-bit.
 */
import { FLOW_WORDS } from './flow-layout.js';

/** A fresh zeroed key or mask (all-wildcard mask). Allocates; not for per-packet use. */
export function newFlowWords(): Uint32Array {
  return new Uint32Array(FLOW_WORDS);
}

/** Sets every bit of the mask: exact match on every field (OVS flow_wildcards_init_exact). */
export function maskInitExact(mask: Uint32Array, base = 0): void {
  mask.fill(0xffffffff, base, base + FLOW_WORDS);
}

/** Clears the mask: matches every key (OVS flow_wildcards_init_catchall). */
export function maskInitCatchall(mask: Uint32Array, base = 0): void {
  mask.fill(0, base, base + FLOW_WORDS);
}

/** True when no bit is set (OVS flow_wildcards_is_catchall). */
export function maskIsCatchall(mask: Uint32Array, base = 0): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (mask[base + i] !== 0) return false;
  return true;
}

/** True when every bit of word `word` is set (e.g. in_port must be exact in the datapath). */
export function maskWordIsExact(mask: Uint32Array, base: number, word: number): boolean {
  return mask[base + word] === 0xffffffff;
}

/** Sets the bits `bits` of word `word` ("unwildcards" them, as xlate does while translating). */
export function maskUnwildcard(mask: Uint32Array, base: number, word: number, bits = 0xffffffff): void {
  mask[base + word] = (mask[base + word]! | bits) >>> 0;
}

/** dst |= src word by word: the union of the bits both masks need (OVS flow_wildcards_or / fold). */
export function maskOr(dst: Uint32Array, dstBase: number, src: Uint32Array, srcBase: number): void {
  for (let i = 0; i < FLOW_WORDS; i++) dst[dstBase + i] = (dst[dstBase + i]! | src[srcBase + i]!) >>> 0;
}

/** dst &= src word by word (OVS flow_wildcards_and). */
export function maskAnd(dst: Uint32Array, dstBase: number, src: Uint32Array, srcBase: number): void {
  for (let i = 0; i < FLOW_WORDS; i++) dst[dstBase + i] = (dst[dstBase + i]! & src[srcBase + i]!) >>> 0;
}

/** True when the two FLOW_WORDS ranges are equal (keys or masks). */
export function flowWordsEqual(a: Uint32Array, aBase: number, b: Uint32Array, bBase: number): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (a[aBase + i] !== b[bBase + i]) return false;
  return true;
}

/** True when mask `a` has a bit that mask `b` lacks (OVS flow_wildcards_has_extra). */
export function maskHasExtra(a: Uint32Array, aBase: number, b: Uint32Array, bBase: number): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if ((a[aBase + i]! & ~b[bBase + i]!) !== 0) return true;
  return false;
}

/** out = key & mask word by word (the masked key a megaflow stores). `out` may alias `key`. */
export function applyMask(
  key: Uint32Array, keyBase: number, mask: Uint32Array, maskBase: number, out: Uint32Array, outBase: number,
): void {
  for (let i = 0; i < FLOW_WORDS; i++) out[outBase + i] = (key[keyBase + i]! & mask[maskBase + i]!) >>> 0;
}

/** True when `key` matches the megaflow (`rule` = masked key, `mask`): (key & mask) == rule. */
export function keyMatches(
  key: Uint32Array, keyBase: number, rule: Uint32Array, ruleBase: number, mask: Uint32Array, maskBase: number,
): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    if (((key[keyBase + i]! & mask[maskBase + i]!) >>> 0) !== rule[ruleBase + i]) return false;
  }
  return true;
}

/** True when two keys agree on every bit the mask sets. */
export function maskedEqual(
  a: Uint32Array, aBase: number, b: Uint32Array, bBase: number, mask: Uint32Array, maskBase: number,
): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    if (((a[aBase + i]! ^ b[bBase + i]!) & mask[maskBase + i]!) !== 0) return false;
  }
  return true;
}

/**
 * Lists the words a mask uses, in word order: writes word indices to `used[outBase..]` and the
 * mask word values to `vals[outBase..]`, returns how many (0..FLOW_WORDS). This is the dpcls
 * subtable's view of its mask (OVS keeps the mask's miniflow map for the same purpose): lookups
 * touch and hash only these words.
 */
export function compileMask(
  mask: Uint32Array, maskBase: number, used: Uint8Array | Int32Array | Uint32Array, vals: Uint32Array, outBase = 0,
): number {
  let n = 0;
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = mask[maskBase + i]!;
    if (m !== 0) {
      used[outBase + n] = i;
      vals[outBase + n] = m;
      n++;
    }
  }
  return n;
}

/** Number of words a mask uses (nonzero words). */
export function maskWordCount(mask: Uint32Array, base = 0): number {
  let n = 0;
  for (let i = 0; i < FLOW_WORDS; i++) if (mask[base + i] !== 0) n++;
  return n;
}
