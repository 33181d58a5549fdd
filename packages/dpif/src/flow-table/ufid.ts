/**
 * UFIDs: 128-bit unique flow identifiers (OVS ovs_u128, "ufid:" + UUID text).
 *
 * A UFID is a Uint32Array of 4 words, `u32[0..3]` as in OVS. Text form is OVS odp_format_ufid():
 * `ufid:%08x-%04x-%04x-%04x-%04x%08x` of u32[0], u32[1]>>16, u32[1]&0xffff, u32[2]>>16,
 * u32[2]&0xffff, u32[3] (lib/uuid.h UUID_FMT).
 *
 * When a put carries no UFID the datapath derives one as OVS odp_flow_key_hash() does: a 128-bit
 * murmur hash (hash_bytes128) keyed by a per-datapath random secret, with the RFC 4122 version-4
 * bits set (uuid_set_bits_v4). OVS hashes the unmasked `struct flow`; tsvs hashes the masked key
 * followed by the mask (2 * FLOW_WORDS words), so that every packet of one megaflow, and a put of
 * the same megaflow from any thread of the process, derives the same UFID.
 */
import { FLOW_WORDS, hashWords128 } from '@tsvs/packet';

/** Number of 32-bit words in a UFID. */
export const UFID_WORDS = 4;

const deriveBuf = new Uint32Array(2 * FLOW_WORDS);

/**
 * Derives the UFID of a megaflow into `out[outBase..+3]`: hash_bytes128 of (key & mask, mask) with
 * `secret` as basis, then the version-4 bits. `key` need not be masked.
 */
export function deriveUfid(
  key: Uint32Array, keyBase: number, mask: Uint32Array, maskBase: number, secret: number,
  out: Uint32Array, outBase = 0,
): void {
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = mask[maskBase + i]!;
    deriveBuf[i] = key[keyBase + i]! & m;
    deriveBuf[FLOW_WORDS + i] = m;
  }
  hashWords128(deriveBuf, 0, 2 * FLOW_WORDS, secret, out, outBase);
  setUfidV4Bits(out, outBase);
}

/** OVS uuid_set_bits_v4: variant bits 10 in u32[2] bits 31..30, version 4 in u32[1] bits 15..12. */
export function setUfidV4Bits(u: Uint32Array, base = 0): void {
  u[base + 2] = ((u[base + 2]! & ~0xc0000000) | 0x80000000) >>> 0;
  u[base + 1] = ((u[base + 1]! & ~0x0000f000) | 0x00004000) >>> 0;
}

const hex = (v: number, n: number): string => v.toString(16).padStart(n, '0');

/** Formats a UFID as OVS does: `ufid:1b2c3d4e-...`. */
export function formatUfid(u: Uint32Array, base = 0): string {
  const a = u[base]!, b = u[base + 1]!, c = u[base + 2]!, d = u[base + 3]!;
  return `ufid:${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(b & 0xffff, 4)}-${hex(c >>> 16, 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`;
}

const UFID_RE = /^(?:ufid:)?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})([0-9a-fA-F]{8})$/;

/**
 * Parses `ufid:XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (the `ufid:` prefix is optional) into a new
 * 4-word UFID. Throws SyntaxError naming the bad token.
 */
export function parseUfid(s: string): Uint32Array {
  const m = UFID_RE.exec(s.trim());
  if (!m) throw new SyntaxError(`bad ufid: ${JSON.stringify(s)} (want ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
  const p = (i: number): number => parseInt(m[i]!, 16);
  return Uint32Array.of(p(1), ((p(2) << 16) | p(3)) >>> 0, ((p(4) << 16) | p(5)) >>> 0, p(6));
}

/** True when two UFIDs are equal. */
export function ufidEqual(a: Uint32Array, aBase: number, b: Uint32Array, bBase: number): boolean {
  return a[aBase] === b[bBase] && a[aBase + 1] === b[bBase + 1] && a[aBase + 2] === b[bBase + 2] && a[aBase + 3] === b[bBase + 3];
}

/** A random version-4 UFID (crypto-quality randomness). */
export function randomUfid(): Uint32Array {
  const u = new Uint32Array(UFID_WORDS);
  globalThis.crypto.getRandomValues(u);
  setUfidV4Bits(u);
  return u;
}
