/**
 * Index of rules by their key projected onto one selection mask, for loose selection (OVS
 * `CLS_FOR_EACH_TARGET` / `cls_rule_is_loose_match`: a rule is selected when its mask has every
 * bit of the criteria mask M and its key agrees with the criteria key under M).
 *
 * OVS walks every rule of every subtable whose mask covers M, O(rules) per modify/delete; a batch
 * of N loose mods that each select one rule is then O(N × rules). The classifier keeps a few of
 * these indices, one per criteria mask in recent use (see Classifier.matchingLoose): it holds
 * every rule of the subtables whose masks cover M, keyed by the hash of `key & M` (the running
 * OVS mhash over M's non-zero words, in word order), so a query reads one bucket. Buckets hold
 * one rule or a Set (rules with equal projections, e.g. M = dl_type only); candidates must still be
 * compared (hash collisions) and checked for visibility by the caller.
 *
 * Maintained by the classifier on every insert and removal in a covered subtable: O(1) each.
 */
import { FLOW_WORDS, hashAdd } from '@tsvs/packet';

export interface Keyed {
  /** Masked key, FLOW_WORDS words. */
  readonly key: Uint32Array;
}

export class LooseIndex<R extends Keyed> {
  /** The criteria mask (FLOW_WORDS words, a copy). */
  readonly mask: Uint32Array;
  /** Non-zero words of the mask and their values. */
  private readonly words: Int32Array;
  private readonly vals: Uint32Array;
  private readonly map = new Map<number, R | Set<R>>();
  /** Use counter value of the last query (for least-recently-used eviction). */
  lastUse = 0;

  constructor(mask: Uint32Array, mb: number, readonly maskHash: number) {
    this.mask = new Uint32Array(FLOW_WORDS);
    const words: number[] = [];
    for (let i = 0; i < FLOW_WORDS; i++) {
      this.mask[i] = mask[mb + i]!;
      if (this.mask[i] !== 0) words.push(i);
    }
    this.words = Int32Array.from(words);
    this.vals = Uint32Array.from(words.map((w) => this.mask[w]!));
  }

  /** True if `mask[mb..]` is exactly this index's mask. */
  sameMask(mask: Uint32Array, mb: number): boolean {
    for (let i = 0; i < FLOW_WORDS; i++) if (this.mask[i] !== mask[mb + i]) return false;
    return true;
  }

  /** True if a subtable with mask `stMask` is covered: it has every bit of this mask. */
  covers(stMask: Uint32Array): boolean {
    const words = this.words;
    for (let j = 0; j < words.length; j++) {
      const v = this.vals[j]!;
      if (((stMask[words[j]!]! & v) >>> 0) !== v) return false;
    }
    return true;
  }

  /** Hash of `key[kb..] & mask`. */
  hashOf(key: Uint32Array, kb: number): number {
    let h = 0;
    const words = this.words;
    for (let j = 0; j < words.length; j++) h = hashAdd(h, (key[kb + words[j]!]! & this.vals[j]!) | 0);
    return h;
  }

  add(r: R): void {
    const h = this.hashOf(r.key, 0);
    const b = this.map.get(h);
    if (b === undefined) this.map.set(h, r);
    else if (b instanceof Set) b.add(r);
    else if (b !== r) this.map.set(h, new Set([b, r]));
  }

  delete(r: R): void {
    const h = this.hashOf(r.key, 0);
    const b = this.map.get(h);
    if (b === undefined) return;
    if (b instanceof Set) {
      b.delete(r);
      if (b.size === 1) for (const only of b) this.map.set(h, only);
    } else if (b === r) {
      this.map.delete(h);
    }
  }

  /** The rules whose projection hashes like `key[kb..] & mask` (a superset of the matches). */
  candidates(key: Uint32Array, kb: number): R | Set<R> | undefined {
    return this.map.get(this.hashOf(key, kb));
  }
}
