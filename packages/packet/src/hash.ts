/**
 * 32-bit hashing over flow-key words, the way Open vSwitch hashes miniflows (lib/hash.h).
 *
 * `hashAdd`/`hashFinish` are OVS's murmur-based `mhash_add`/`mhash_finish` (MurmurHash3_x86_32 by
 * Austin Appleby, public domain): `hashWords(p, n, basis)` equals OVS `hash_words()` and
 * MurmurHash3_x86_32 over the 4n little-endian bytes of the words. Every function works on 32-bit
 * words with `Math.imul`, returns an unsigned 32-bit integer and allocates nothing, so they are fit
 * for per-packet use. `hashMaskedWords` hashes only the words a mask uses (the dpcls subtable hash).
 *
 * `hashBytes128` is OVS `hash_bytes128()` in the 32-bit variant (MurmurHash3_x86_128, the code OVS
 * builds on hosts other than x86_64/aarch64); OVS derives UFIDs with it (odp_flow_key_hash).
 */
import { FLOW_WORDS } from './flow-layout.js';

/** Rotates the 32-bit `x` left by `k` bits (OVS hash_rot). */
export function hashRot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Mixes the 32-bit `data` into `hash` (OVS mhash_add; a zero word only advances the state). */
export function hashAdd(hash: number, data: number): number {
  if (data !== 0) {
    data = Math.imul(data, 0xcc9e2d51);
    data = (data << 15) | (data >>> 17);
    data = Math.imul(data, 0x1b873593);
    hash ^= data;
  }
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

/** Final avalanche of a murmur state (OVS mhash_finish); returns an unsigned 32-bit value. */
export function mhashFinish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** OVS hash_finish(hash, final): `final` is conventionally the number of bytes hashed. */
export function hashFinish(hash: number, final: number): number {
  return mhashFinish(hash ^ final);
}

/** Hashes `n` words of `p` from `base` (OVS hash_words). Unsigned 32-bit result. */
export function hashWords(p: Uint32Array | Int32Array, base: number, n: number, basis: number): number {
  let h = basis | 0;
  for (let i = 0; i < n; i++) h = hashAdd(h, p[base + i]! | 0);
  return hashFinish(h, n * 4);
}

/** Hashes a whole flow key (FLOW_WORDS words at `base`). Unsigned 32-bit result. */
export function hashKey(key: Uint32Array, base: number, basis: number): number {
  return hashWords(key, base, FLOW_WORDS, basis);
}

/**
 * Hashes the masked words of a key: for j < n, word `used[usedBase + j]` of `key`, ANDed with
 * `maskVals[usedBase + j]`. The `used`/`maskVals` pair is what `compileMask` (mask.ts) produces, so
 * a dpcls subtable hashes only the words its mask uses. Equals
 * `hashWords(<the n masked words in order>, 0, n, basis)`.
 */
export function hashMaskedWords(
  key: Uint32Array, keyBase: number,
  used: Uint8Array | Int32Array | Uint32Array, maskVals: Uint32Array, usedBase: number, n: number,
  basis: number,
): number {
  let h = basis | 0;
  for (let j = 0; j < n; j++) {
    h = hashAdd(h, key[keyBase + used[usedBase + j]!]! & maskVals[usedBase + j]!);
  }
  return hashFinish(h, n * 4);
}

/**
 * A fast whole-key hash for the exact-match cache: a multilinear sum of every word times a fixed
 * odd constant, then murmur's avalanche. Any single-word difference changes the sum (odd
 * multipliers are invertible mod 2^32). About twice as fast as `hashKey` over 36 words because
 * the products are independent. Not an OVS function (OVS uses the NIC's RSS hash for its EMC).
 */
export function hashKeyFast(key: Uint32Array, base: number): number {
  let a = 0, b = 0, c = 0, d = 0;
  for (let i = 0; i < FLOW_WORDS; i += 4) {
    a = (a + Math.imul(key[base + i]!, FAST_K[i]!)) | 0;
    b = (b + Math.imul(key[base + i + 1]!, FAST_K[i + 1]!)) | 0;
    c = (c + Math.imul(key[base + i + 2]!, FAST_K[i + 2]!)) | 0;
    d = (d + Math.imul(key[base + i + 3]!, FAST_K[i + 3]!)) | 0;
  }
  return mhashFinish((a + b + c + d) | 0);
}

const FAST_K = new Int32Array(FLOW_WORDS);
for (let i = 0; i < FLOW_WORDS; i++) FAST_K[i] = Math.imul(i + 1, 0x9e3779b1) | 1;

/**
 * 128-bit MurmurHash3_x86_128 of `len` bytes of `bytes` from `offset` (OVS hash_bytes128, 32-bit
 * variant). Blocks are read as little-endian 32-bit words. Writes four unsigned 32-bit words to
 * `out[outBase..outBase+3]` (OVS ovs_u128 u32[0..3]).
 */
export function hashBytes128(
  bytes: Uint8Array, offset: number, len: number, basis: number, out: Uint32Array, outBase = 0,
): void {
  const nblocks = len >>> 4;
  const s = H128;
  s[0] = s[1] = s[2] = s[3] = basis | 0;
  for (let i = 0; i < nblocks; i++) {
    const o = offset + i * 16;
    mix128(s, le32(bytes, o), le32(bytes, o + 4), le32(bytes, o + 8), le32(bytes, o + 12));
  }
  const t = offset + nblocks * 16;
  const rest = len & 15;
  let k1 = 0, k2 = 0, k3 = 0, k4 = 0;
  for (let i = rest - 1; i >= 0; i--) {
    const v = bytes[t + i]! << ((i & 3) * 8);
    if (i >= 12) k4 ^= v; else if (i >= 8) k3 ^= v; else if (i >= 4) k2 ^= v; else k1 ^= v;
  }
  tail128(s, rest, k1, k2, k3, k4);
  final128(s, len, out, outBase);
}

/** `hashBytes128` over `n` whole 32-bit words of `words` (as their little-endian bytes). */
export function hashWords128(
  words: Uint32Array, base: number, n: number, basis: number, out: Uint32Array, outBase = 0,
): void {
  const s = H128;
  s[0] = s[1] = s[2] = s[3] = basis | 0;
  const nblocks = n >>> 2;
  for (let i = 0; i < nblocks; i++) {
    const o = base + i * 4;
    mix128(s, words[o]! | 0, words[o + 1]! | 0, words[o + 2]! | 0, words[o + 3]! | 0);
  }
  const t = base + nblocks * 4;
  const rest = n & 3;
  tail128(s, rest * 4, rest > 0 ? words[t]! | 0 : 0, rest > 1 ? words[t + 1]! | 0 : 0, rest > 2 ? words[t + 2]! | 0 : 0, 0);
  final128(s, n * 4, out, outBase);
}

const H128 = new Int32Array(4);
const C1 = 0x239b961b, C2 = 0xab0e9789 | 0, C3 = 0x38b34ae5, C4 = 0xa1e38b93 | 0;

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) | 0;
}

function mix128(s: Int32Array, k1: number, k2: number, k3: number, k4: number): void {
  let h1 = s[0]!, h2 = s[1]!, h3 = s[2]!, h4 = s[3]!;
  k1 = Math.imul(hashRot(Math.imul(k1, C1), 15), C2); h1 ^= k1;
  h1 = (Math.imul((hashRot(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
  k2 = Math.imul(hashRot(Math.imul(k2, C2), 16), C3); h2 ^= k2;
  h2 = (Math.imul((hashRot(h2, 17) + h3) | 0, 5) + 0x0bcaa747) | 0;
  k3 = Math.imul(hashRot(Math.imul(k3, C3), 17), C4); h3 ^= k3;
  h3 = (Math.imul((hashRot(h3, 15) + h4) | 0, 5) + 0x96cd1c35) | 0;
  k4 = Math.imul(hashRot(Math.imul(k4, C4), 18), C1); h4 ^= k4;
  h4 = (Math.imul((hashRot(h4, 13) + h1) | 0, 5) + 0x32ac3b17) | 0;
  s[0] = h1; s[1] = h2; s[2] = h3; s[3] = h4;
}

/** The tail step: `rest` is the number of tail bytes (0..15); k1..k4 hold them little-endian. */
function tail128(s: Int32Array, rest: number, k1: number, k2: number, k3: number, k4: number): void {
  if (rest > 12) s[3] = s[3]! ^ Math.imul(hashRot(Math.imul(k4, C4), 18), C1);
  if (rest > 8) s[2] = s[2]! ^ Math.imul(hashRot(Math.imul(k3, C3), 17), C4);
  if (rest > 4) s[1] = s[1]! ^ Math.imul(hashRot(Math.imul(k2, C2), 16), C3);
  if (rest > 0) s[0] = s[0]! ^ Math.imul(hashRot(Math.imul(k1, C1), 15), C2);
}

function final128(s: Int32Array, len: number, out: Uint32Array, outBase: number): void {
  let h1 = s[0]! ^ len, h2 = s[1]! ^ len, h3 = s[2]! ^ len, h4 = s[3]! ^ len;
  h1 = (h1 + h2 + h3 + h4) | 0; h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = mhashFinish(h1) | 0; h2 = mhashFinish(h2) | 0; h3 = mhashFinish(h3) | 0; h4 = mhashFinish(h4) | 0;
  h1 = (h1 + h2 + h3 + h4) | 0; h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  out[outBase] = h1; out[outBase + 1] = h2; out[outBase + 2] = h3; out[outBase + 3] = h4;
}
