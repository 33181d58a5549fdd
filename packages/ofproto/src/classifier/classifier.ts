/**
 * The OpenFlow classifier: tuple space search with priorities, versions, staged lookup and
 * prefix tracking, after OVS 3.1 lib/classifier.c.
 *
 * Rules are (masked key, mask, priority, payload) over the flow key words of
 * packages/packet/src/flow-layout.ts. Rules with the same mask share a subtable (one hash table
 * of masked keys); subtables are scanned in order of the highest priority they hold, so a lookup
 * stops as soon as no remaining subtable can beat the match in hand.
 *
 * `lookup(flow, version, wc)` returns the highest-priority rule visible in `version` that matches
 * `flow`, and ORs into `wc` the bits it consulted, as OVS does:
 * - a subtable that yields a rule, or that fails in its last stage, adds its whole mask;
 * - staged lookup: each subtable checks its metadata, L2, L3 and L4 fields in turn (./stages.ts)
 *   against per-stage indices; a miss in a stage adds only the stages before it;
 * - prefix tracking: tries over configured address fields (default nw_dst and nw_src, as OVS)
 *   let a subtable be skipped after un-wildcarding only the address bits needed to show that no
 *   prefix of that length can match; a per-subtable trie over tp_src/tp_dst narrows the ports
 *   un-wildcarded when the last stage fails.
 *
 * Versions: a rule is visible in versions [addVersion, removeVersion). Making a rule invisible
 * from version V leaves it in place for readers of older versions; `remove` takes it out for good
 * (the tables layer does that once no reader holds an older version).
 *
 * Conjunctive matches (OVS `conjunction` action) are not supported.
 *
 * `lookup` allocates nothing. Mutations allocate (control plane).
 *
 * Costs of changes (control plane; n = rules, S = subtables): insert, remove, findExactly
 * O(1) expected plus the tries' prefix lengths; keeping the subtables in priority order O(log S)
 * plus an O(S) array move per change that moves a subtable's max priority (a full stable sort once
 * per `defer`/`publish` batch); a subtable's new max priority after a removal O(log distinct
 * priorities) (./priority-counts.ts); matchingLoose O(selected) once its criteria mask has an index
 * (./loose-index.ts), else O(rules in covering subtables), as OVS.
 */
import { FLOW_WORDS, W_TP, hashAdd } from '@tsvs/packet';
import { U32CountMap, U32ObjMap } from './u32-map.js';
import { PrefixTrie, plensHas } from './prefix-trie.js';
import { STAGE_WORD_ORDER, WORD_STAGE } from './stages.js';
import { PriorityCounts } from './priority-counts.js';
import { LooseIndex } from './loose-index.js';

export { PriorityCounts } from './priority-counts.js';

/** `removeVersion` of a rule that has not been removed (OVS OVS_VERSION_NOT_REMOVED). */
export const VERSION_NOT_REMOVED = Number.MAX_SAFE_INTEGER;

/** Fields that can have a prefix trie (OVS `prefixes` table option), by ovs-fields name. */
export type PrefixField = 'nw_src' | 'nw_dst' | 'ipv6_src' | 'ipv6_dst';

interface TrieFieldDef {
  word: number;
  nWords: number;
  nBits: number;
  /** The dl_type the field needs (OVS trie_lookup checks mf_are_prereqs_ok). */
  dlType: number;
}

const TRIE_FIELDS: Record<PrefixField, TrieFieldDef> = {
  nw_src: { word: 11, nWords: 1, nBits: 32, dlType: 0x0800 },
  nw_dst: { word: 12, nWords: 1, nBits: 32, dlType: 0x0800 },
  ipv6_src: { word: 13, nWords: 4, nBits: 128, dlType: 0x86dd },
  ipv6_dst: { word: 17, nWords: 4, nBits: 128, dlType: 0x86dd },
};

/** OVS's default prefix fields for every table (ofproto.c default_prefix_fields). */
export const DEFAULT_PREFIX_FIELDS: readonly PrefixField[] = ['nw_dst', 'nw_src'];

const W_DL_TYPE = 5;

const EMPTY_HASHES = new Int32Array(0);

/** A rule in the classifier. Fields other than `payload` are read-only for callers. */
export class ClsRule<T> {
  /** @internal */ subtable: Subtable<T> | null = null;
  /** @internal Next rule with the identical match, lower (or equal, older) priority. */
  next: ClsRule<T> | null = null;
  /** @internal Next list head in the same hash bucket (different masked key, same hash). */
  chain: ClsRule<T> | null = null;
  /** @internal Stage hashes then the full hash (int32); set by insert. */
  hashes: Int32Array = EMPTY_HASHES;

  constructor(
    /** Masked key (FLOW_WORDS words): key & mask. */
    readonly key: Uint32Array,
    /** Mask (FLOW_WORDS words). */
    readonly mask: Uint32Array,
    readonly priority: number,
    public addVersion: number,
    public removeVersion: number,
    public payload: T,
  ) {}

  /** True if visible to a lookup made in `version`. */
  visibleIn(version: number): boolean {
    return this.addVersion <= version && version < this.removeVersion;
  }

  /** True if the rule is still in the classifier. */
  get inClassifier(): boolean {
    return this.subtable !== null;
  }
}

/** @internal One subtable: all rules with one mask. */
export class Subtable<T> {
  readonly mask: Uint32Array;
  /** Words the mask uses, in stage order, and the mask values of those words. */
  readonly used: Int32Array;
  readonly vals: Uint32Array;
  readonly n: number;
  /** Number of stage indices; stageEnd[i] is the end (exclusive, in `used`) of stage i, i <= nIndices. */
  readonly nIndices: number;
  readonly stageEnd: Int32Array;
  readonly stageId: Int32Array;
  readonly indices: U32CountMap[];
  readonly rules = new U32ObjMap<ClsRule<T>>();
  /** Every rule, in insertion order (OVS rules_list). */
  readonly list = new Set<ClsRule<T>>();
  /** Distinct masked keys (list heads). */
  nHeads = 0;
  /** Highest priority of a rule in the subtable (the lookup order key). */
  maxPriority = -Infinity;
  /** Priorities of the rules (replaces OVS's rescan of the subtable for max_priority). */
  readonly prios = new PriorityCounts();
  /** Loose-selection indices whose criteria mask this subtable's mask covers. */
  loose: LooseIndex<ClsRule<T>>[] = [];
  /** Prefix length per classifier trie (0: the trie does not apply to this mask). */
  triePlen: Int32Array;
  /** Bit s set: some trie applies to a field of stage s (so check_tries has work there). */
  trieStages = 0;
  readonly portsMaskLen: number;
  readonly portsTrie: PrefixTrie | null;
  /** Hash of the whole mask (the classifier's subtable map key). */
  readonly maskHash: number;

  constructor(mask: Uint32Array, maskHash: number, trieDefs: readonly TrieFieldDef[]) {
    this.mask = mask;
    this.maskHash = maskHash;
    const used: number[] = [];
    for (const w of STAGE_WORD_ORDER) if (mask[w] !== 0) used.push(w);
    this.n = used.length;
    this.used = Int32Array.from(used);
    this.vals = Uint32Array.from(used.map((w) => mask[w]!));
    // Non-empty stages in order; the last one is the final (rules) stage, the others get indices.
    const ends: number[] = [];
    const ids: number[] = [];
    for (let j = 0; j < used.length; j++) {
      const st = WORD_STAGE[used[j]!]!;
      if (ids.length === 0 || ids[ids.length - 1] !== st) {
        ids.push(st);
        ends.push(j + 1);
      } else {
        ends[ends.length - 1] = j + 1;
      }
    }
    if (ids.length === 0) {
      ids.push(0);
      ends.push(0);
    }
    this.nIndices = ids.length - 1;
    this.stageEnd = Int32Array.from(ends);
    this.stageId = Int32Array.from(ids);
    this.indices = [];
    for (let i = 0; i < this.nIndices; i++) this.indices.push(new U32CountMap());
    this.triePlen = new Int32Array(trieDefs.length);
    this.setTries(trieDefs);
    const pm = mask[W_TP]!;
    this.portsMaskLen = pm === 0 ? 0 : 32 - ctz32(pm);
    this.portsTrie = this.portsMaskLen ? new PrefixTrie(32) : null;
  }

  /** OVS minimask_get_prefix_len for each trie field; `trieStages` marks the stages to check. */
  setTries(trieDefs: readonly TrieFieldDef[]): void {
    this.triePlen = new Int32Array(trieDefs.length);
    this.trieStages = 0;
    for (let i = 0; i < trieDefs.length; i++) {
      this.triePlen[i] = prefixLen(this.mask, trieDefs[i]!);
      if (this.triePlen[i]) this.trieStages |= 1 << WORD_STAGE[trieDefs[i]!.word]!;
    }
  }
}

function ctz32(x: number): number {
  if (x === 0) return 32;
  return 31 - Math.clz32(x & -x);
}

/** Length of the CIDR prefix the mask has on a field, 0 if none or not a CIDR mask. */
function prefixLen(mask: Uint32Array, f: TrieFieldDef): number {
  let nBits = 0;
  let ended = false;
  for (let i = 0; i < f.nWords; i++) {
    const m = mask[f.word + i]! >>> 0;
    if (ended) {
      if (m) return 0;
    } else {
      const inv = ~m >>> 0;
      if (((inv & (inv + 1)) >>> 0) !== 0) return 0; // not contiguous leading ones
      const tz = ctz32(m);
      nBits += 32 - tz;
      if (tz) ended = true;
    }
  }
  return nBits;
}

interface TrieState {
  def: TrieFieldDef;
  trie: PrefixTrie;
  name: PrefixField;
}

/**
 * A classifier over payloads of type `T`. See the module comment for semantics.
 */
export class Classifier<T> {
  /** Subtables by mask hash (collisions: several subtables under one hash). */
  private readonly subtablesByMask = new Map<number, Subtable<T>[]>();
  /** Every subtable, in creation order (iteration order of allRules / matchingLoose scans). */
  private readonly subtables = new Set<Subtable<T>>();
  /** Subtables in lookup order (OVS pvector: by max priority, stable). */
  private vec: Subtable<T>[] = [];
  private vecDirty = false;
  private deferred = false;
  private tries: TrieState[] = [];
  /** Per-lookup trie context (OVS trie_ctx), preallocated. */
  private trieDone = new Uint8Array(0);
  private trieMaskbits = new Int32Array(0);
  private triePlens = new Uint32Array(0);
  private readonly scratch = new Uint32Array(4);
  /** Loose-selection indices by criteria mask hash, and how often unindexed masks were asked for. */
  private readonly looseIdx = new Map<number, LooseIndex<ClsRule<T>>[]>();
  private nLooseIdx = 0;
  private looseAsked = new Map<number, number>();
  private looseClock = 0;
  /** Number of rules (visible or not) in the classifier. */
  nRules = 0;

  constructor(prefixFields: readonly PrefixField[] = DEFAULT_PREFIX_FIELDS) {
    this.setPrefixFields(prefixFields);
  }

  /**
   * Sets the prefix-tracking fields (OVS `classifier_set_prefix_fields`, at most 3, no
   * duplicates). Rebuilds the tries from the rules present.
   * @throws Error on an unknown or duplicate field or more than 3.
   */
  setPrefixFields(fields: readonly PrefixField[]): void {
    if (fields.length > 3) throw new Error(`too many prefix fields (${fields.length}, max 3)`);
    const seen = new Set<string>();
    for (const f of fields) {
      if (!(f in TRIE_FIELDS)) throw new Error(`unknown prefix field ${String(f)}`);
      if (seen.has(f)) throw new Error(`duplicate prefix field ${f}`);
      seen.add(f);
    }
    this.tries = fields.map((name) => ({ name, def: TRIE_FIELDS[name], trie: new PrefixTrie(TRIE_FIELDS[name].nBits) }));
    this.trieDone = new Uint8Array(this.tries.length);
    this.trieMaskbits = new Int32Array(this.tries.length);
    this.triePlens = new Uint32Array(this.tries.length * 4);
    const defs = this.tries.map((t) => t.def);
    for (const st of this.subtables) {
      st.setTries(defs);
      for (const r of st.list) {
        if (!isHead(st, r)) continue;
        for (let i = 0; i < this.tries.length; i++) {
          if (st.triePlen[i]) this.tries[i]!.trie.insert(r.key, this.tries[i]!.def.word, st.triePlen[i]!);
        }
      }
    }
  }

  /** The configured prefix fields. */
  get prefixFields(): PrefixField[] {
    return this.tries.map((t) => t.name);
  }

  /** Number of subtables (distinct masks). */
  get nSubtables(): number {
    return this.subtables.size;
  }

  /** Batch mutations: subtable order is re-sorted once at `publish()` (OVS classifier_defer). */
  defer(): void {
    this.deferred = true;
  }

  /** Ends a batch started with `defer()` (OVS classifier_publish). */
  publish(): void {
    this.deferred = false;
    if (!this.vecDirty) return;
    this.vecDirty = false;
    // Stable: ties keep their current order, as glibc's qsort (merge sort) does for OVS's pvector.
    this.vec.sort((a, b) => b.maxPriority - a.maxPriority);
  }

  /**
   * `vec[i]` may be out of place (a new subtable pushed at the end, a subtable whose max priority
   * moved, or the last one swapped into a removed one's slot): with a deferred batch, sort at
   * `publish`; otherwise move it to where the stable sort would put it. The rest of `vec` is
   * sorted (every change outside a batch ends here), so that place is after the others with a
   * higher priority, or the same priority and a lower index than i: a binary search, one move.
   */
  private reposition(i: number): void {
    if (this.deferred) {
      this.vecDirty = true;
      return;
    }
    const vec = this.vec;
    const x = vec[i]!;
    const p = x.maxPriority;
    // Binary search over the others (vec without index i): count those that go before x.
    let lo = 0;
    let hi = vec.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = mid < i ? vec[mid]! : vec[mid + 1]!;
      if (o.maxPriority > p || (o.maxPriority === p && mid < i)) lo = mid + 1;
      else hi = mid;
    }
    if (lo < i) {
      vec.copyWithin(lo + 1, lo, i);
      vec[lo] = x;
    } else if (lo > i) {
      vec.copyWithin(i, i + 1, lo + 1);
      vec[lo] = x;
    }
  }

  private static maskHash(mask: Uint32Array, mb: number): number {
    let h = 0;
    for (let i = 0; i < FLOW_WORDS; i++) h = hashAdd(h, mask[mb + i]! | 0);
    return h;
  }

  private subtableFor(mask: Uint32Array, mb: number, create: boolean): Subtable<T> | undefined {
    const h = Classifier.maskHash(mask, mb);
    const list = this.subtablesByMask.get(h);
    if (list) {
      for (const st of list) {
        let eq = true;
        for (let i = 0; i < FLOW_WORDS; i++) {
          if (st.mask[i] !== mask[mb + i]) {
            eq = false;
            break;
          }
        }
        if (eq) return st;
      }
    }
    if (!create) return undefined;
    const m = new Uint32Array(FLOW_WORDS);
    for (let i = 0; i < FLOW_WORDS; i++) m[i] = mask[mb + i]!;
    const st = new Subtable<T>(m, h, this.tries.map((t) => t.def));
    if (list) list.push(st);
    else this.subtablesByMask.set(h, [st]);
    this.subtables.add(st);
    for (const idxs of this.looseIdx.values()) for (const idx of idxs) if (idx.covers(m)) st.loose.push(idx);
    return st;
  }

  private dropSubtable(st: Subtable<T>): void {
    const list = this.subtablesByMask.get(st.maskHash)!;
    if (list.length === 1) this.subtablesByMask.delete(st.maskHash);
    else list.splice(list.indexOf(st), 1);
    this.subtables.delete(st);
    st.loose = [];
  }

  /**
   * Stage hashes and full hash of a masked key in subtable `st`: the running OVS mhash_add state
   * over the words in stage order, taken at each stage's end (as OVS's staged hashes continue from
   * one stage to the next). Not finalized: the maps spread keys themselves (./u32-map.ts), and
   * int32 values stay unboxed in V8.
   */
  private ruleHashes(st: Subtable<T>, key: Uint32Array): Int32Array {
    const out = new Int32Array(st.nIndices + 1);
    let h = 0;
    let j = 0;
    for (let i = 0; i <= st.nIndices; i++) {
      const end = st.stageEnd[i]!;
      for (; j < end; j++) h = hashAdd(h, key[st.used[j]!]! | 0);
      out[i] = h;
    }
    return out;
  }

  /** The full hash `ruleHashes` would give for `key[kb..] & st.mask`, without allocating. */
  private static maskedHash(st: Subtable<unknown>, key: Uint32Array, kb: number): number {
    let h = 0;
    const used = st.used;
    const vals = st.vals;
    for (let j = 0; j < st.n; j++) h = hashAdd(h, (key[kb + used[j]!]! & vals[j]!) | 0);
    return h;
  }

  private findEqual(st: Subtable<T>, key: Uint32Array, hash: number): ClsRule<T> | null {
    let head = st.rules.get(hash) ?? null;
    while (head) {
      let eq = true;
      for (let j = 0; j < st.n; j++) {
        const w = st.used[j]!;
        if (head.key[w] !== key[w]) {
          eq = false;
          break;
        }
      }
      if (eq) return head;
      head = head.chain;
    }
    return null;
  }

  /** `findEqual` for an unmasked key at `key[kb..]` (compared under the subtable's mask). */
  private findEqualMasked(st: Subtable<T>, key: Uint32Array, kb: number, hash: number): ClsRule<T> | null {
    let head = st.rules.get(hash) ?? null;
    const used = st.used;
    const vals = st.vals;
    while (head) {
      let j = 0;
      for (; j < st.n; j++) {
        const w = used[j]!;
        if (((key[kb + w]! & vals[j]!) >>> 0) !== head.key[w]) break;
      }
      if (j === st.n) return head;
      head = head.chain;
    }
    return null;
  }

  /**
   * Inserts a rule visible from `version` on. `key`/`mask` are copied (the key is masked).
   * If a rule with the identical match and priority exists and is not scheduled for removal
   * (removeVersion is VERSION_NOT_REMOVED), it is displaced: taken out of the classifier and
   * returned in `replaced` (OVS classifier_replace). Otherwise the new rule goes after identical
   * rules that are being removed, so a version sees at most one of them.
   */
  insert(
    key: Uint32Array, kb: number, mask: Uint32Array, mb: number, priority: number, payload: T, version: number,
  ): { rule: ClsRule<T>; replaced: ClsRule<T> | null } {
    const st = this.subtableFor(mask, mb, true)!;
    const k = new Uint32Array(FLOW_WORDS);
    for (let i = 0; i < FLOW_WORDS; i++) k[i] = (key[kb + i]! & st.mask[i]!) >>> 0;
    const rule = new ClsRule<T>(k, st.mask, priority, version, version, payload);
    rule.hashes = this.ruleHashes(st, k);
    const hash = rule.hashes[st.nIndices]!;
    const head = this.findEqual(st, k, hash);
    let replaced: ClsRule<T> | null = null;
    rule.subtable = st;
    if (!head) {
      for (let i = 0; i < this.tries.length; i++) {
        if (st.triePlen[i]) this.tries[i]!.trie.insert(k, this.tries[i]!.def.word, st.triePlen[i]!);
      }
      if (st.portsTrie) {
        this.scratch[0] = k[W_TP]!;
        st.portsTrie.insert(this.scratch, 0, st.portsMaskLen);
      }
      for (let i = 0; i < st.nIndices; i++) st.indices[i]!.inc(rule.hashes[i]!);
      rule.chain = st.rules.get(hash) ?? null;
      st.rules.set(hash, rule);
      st.nHeads++;
    } else {
      let prev: ClsRule<T> | null = null;
      let iter: ClsRule<T> | null = head;
      for (; iter; prev = iter, iter = iter.next) {
        if (priority > iter.priority || (priority === iter.priority && iter.removeVersion === VERSION_NOT_REMOVED)) break;
      }
      if (iter && iter.priority === priority) {
        // Displace iter.
        rule.next = iter.next;
        this.relink(st, hash, prev, iter, rule);
        iter.subtable = null;
        iter.next = null;
        iter.chain = null;
        st.list.delete(iter);
        for (const idx of st.loose) idx.delete(iter);
        replaced = iter;
      } else {
        rule.next = iter;
        this.relink(st, hash, prev, iter, rule, true);
      }
    }
    rule.removeVersion = VERSION_NOT_REMOVED;
    st.list.add(rule);
    for (const idx of st.loose) idx.add(rule);
    if (replaced) return { rule, replaced };
    this.nRules++;
    const isNew = st.list.size === 1;
    const raised = st.prios.add(priority);
    st.maxPriority = st.prios.max;
    if (isNew) {
      this.vec.push(st);
      this.reposition(this.vec.length - 1);
    } else if (raised) {
      this.reposition(this.vec.indexOf(st));
    }
    return { rule, replaced: null };
  }

  /**
   * Puts `rule` where `old` was in the list (after `prev`; `old` may be null for the end). With
   * `insertBefore`, `old` stays and follows `rule`. Updates the bucket when the head changes.
   */
  private relink(
    st: Subtable<T>, hash: number, prev: ClsRule<T> | null, old: ClsRule<T> | null, rule: ClsRule<T>, insertBefore = false,
  ): void {
    if (prev) {
      prev.next = rule;
      return;
    }
    // rule becomes the head in place of old (old is the current head).
    const head = old!;
    rule.chain = head.chain;
    if (insertBefore) head.chain = null;
    const first = st.rules.get(hash)!;
    if (first === head) {
      st.rules.set(hash, rule);
    } else {
      let p = first;
      while (p.chain !== head) p = p.chain!;
      p.chain = rule;
    }
  }

  /** Makes `rule` invisible to lookups in `version` and later (OVS cls_rule_make_invisible_in_version). */
  makeInvisible(rule: ClsRule<T>, version: number): void {
    rule.removeVersion = version;
  }

  /** Undoes `makeInvisible` (OVS cls_rule_restore_visibility). */
  restoreVisibility(rule: ClsRule<T>): void {
    rule.removeVersion = VERSION_NOT_REMOVED;
  }

  /** Takes `rule` out of the classifier for good (OVS classifier_remove). Returns false if not in it. */
  remove(rule: ClsRule<T>): boolean {
    const st = rule.subtable;
    if (!st) return false;
    const hash = rule.hashes[st.nIndices]!;
    const head = this.findEqual(st, rule.key, hash)!;
    rule.subtable = null;
    st.list.delete(rule);
    for (const idx of st.loose) idx.delete(rule);
    this.nRules--;
    let destroyed = false;
    if (rule !== head) {
      let prev = head;
      while (prev.next !== rule) prev = prev.next!;
      prev.next = rule.next;
    } else if (rule.next) {
      const next = rule.next;
      next.chain = rule.chain;
      const first = st.rules.get(hash)!;
      if (first === rule) st.rules.set(hash, next);
      else {
        let p = first;
        while (p.chain !== rule) p = p.chain!;
        p.chain = next;
      }
    } else {
      if (st.portsTrie) {
        this.scratch[0] = rule.key[W_TP]!;
        st.portsTrie.remove(this.scratch, 0, st.portsMaskLen);
      }
      for (let i = 0; i < this.tries.length; i++) {
        if (st.triePlen[i]) this.tries[i]!.trie.remove(rule.key, this.tries[i]!.def.word, st.triePlen[i]!);
      }
      for (let i = 0; i < st.nIndices; i++) st.indices[i]!.dec(rule.hashes[i]!);
      const first = st.rules.get(hash)!;
      if (first === rule) {
        if (rule.chain) st.rules.set(hash, rule.chain);
        else st.rules.delete(hash);
      } else {
        let p = first;
        while (p.chain !== rule) p = p.chain!;
        p.chain = rule.chain;
      }
      st.nHeads--;
      if (st.list.size === 0) {
        this.dropSubtable(st);
        const i = this.vec.indexOf(st);
        // Swap-remove, then re-sort, as OVS pvector_remove does.
        const last = this.vec.pop()!;
        if (i < this.vec.length) {
          this.vec[i] = last;
          this.reposition(i);
        }
        destroyed = true;
      }
    }
    rule.next = null;
    rule.chain = null;
    const lowered = st.prios.delete(rule.priority);
    if (!destroyed) {
      st.maxPriority = st.prios.max;
      if (lowered) this.reposition(this.vec.indexOf(st));
    }
    return true;
  }

  /**
   * The highest-priority rule visible in `version` that matches the flow key at `flow[fb..]`, or
   * null. If `wc` is given, ORs into `wc[wb..]` (a mask, flow key layout) the bits the lookup
   * consulted (see the module comment). Allocates nothing.
   */
  lookup(flow: Uint32Array, fb: number, version: number, wc?: Uint32Array | null, wb = 0): ClsRule<T> | null {
    let hard: ClsRule<T> | null = null;
    let hardPri = -Infinity;
    const nTries = this.tries.length;
    for (let i = 0; i < nTries; i++) this.trieDone[i] = 0;
    const vec = this.vec;
    for (let s = 0; s < vec.length; s++) {
      const st = vec[s]!;
      if (st.maxPriority <= hardPri) break;
      const m = wc ? this.findMatchWc(st, flow, fb, version, wc, wb) : this.findMatchNoWc(st, flow, fb, version);
      if (m && m.priority > hardPri) {
        hard = m;
        hardPri = m.priority;
      }
    }
    return hard;
  }

  private findMatchNoWc(st: Subtable<T>, flow: Uint32Array, fb: number, version: number): ClsRule<T> | null {
    let h = 0;
    const used = st.used;
    const vals = st.vals;
    for (let j = 0; j < st.n; j++) h = hashAdd(h, (flow[fb + used[j]!]! & vals[j]!) | 0);
    return this.findMatch(st, flow, fb, version, h);
  }

  private findMatch(st: Subtable<T>, flow: Uint32Array, fb: number, version: number, hash: number): ClsRule<T> | null {
    let head = st.rules.get(hash);
    const used = st.used;
    const vals = st.vals;
    const n = st.n;
    while (head) {
      const key = head.key;
      let j = 0;
      for (; j < n; j++) {
        const w = used[j]!;
        if (((flow[fb + w]! & vals[j]!) >>> 0) !== key[w]) break;
      }
      if (j === n) {
        for (let r: ClsRule<T> | null = head; r; r = r.next) {
          if (r.addVersion <= version && version < r.removeVersion) return r;
        }
        return null;
      }
      head = head.chain ?? undefined;
    }
    return null;
  }

  /** ORs the subtable's mask words used[0 .. end) into wc. */
  private static fold(st: Subtable<unknown>, end: number, wc: Uint32Array, wb: number): void {
    const used = st.used;
    const vals = st.vals;
    for (let j = 0; j < end; j++) {
      const w = wb + used[j]!;
      wc[w] = (wc[w]! | vals[j]!) >>> 0;
    }
  }

  /** OVS check_tries for the stage `stage`: true if the subtable can be skipped. */
  private checkTries(st: Subtable<T>, stage: number, flow: Uint32Array, fb: number, wc: Uint32Array, wb: number): boolean {
    const tries = this.tries;
    for (let j = 0; j < tries.length; j++) {
      const plen = st.triePlen[j]!;
      if (!plen) continue;
      const t = tries[j]!;
      const def = t.def;
      if (WORD_STAGE[def.word] !== stage) continue;
      const plens = this.triePlens;
      const pb = j * 4;
      if (!this.trieDone[j]) {
        if ((flow[fb + W_DL_TYPE]! & 0xffff) === def.dlType) {
          plens[pb] = plens[pb + 1] = plens[pb + 2] = plens[pb + 3] = 0;
          this.trieMaskbits[j] = t.trie.lookup(flow, fb + def.word, def.nBits, plens, pb);
        } else {
          // Prerequisites not met: no skipping.
          plens[pb] = plens[pb + 1] = plens[pb + 2] = plens[pb + 3] = 0xffffffff;
          this.trieMaskbits[j] = 0;
        }
        this.trieDone[j] = 1;
      }
      if (!plensHas(plens, plen, pb)) {
        const maskbits = this.trieMaskbits[j]!;
        if (maskbits <= plen) {
          setPrefixBits(wc, wb + def.word, maskbits);
          return true;
        }
        if (prefixBitsSet(wc, wb + def.word, maskbits)) return true;
      }
    }
    return false;
  }

  private findMatchWc(
    st: Subtable<T>, flow: Uint32Array, fb: number, version: number, wc: Uint32Array, wb: number,
  ): ClsRule<T> | null {
    const used = st.used;
    const vals = st.vals;
    let h = 0;
    let j = 0;
    let stagesEnd = 0;
    let i = 0;
    for (; i < st.nIndices; i++) {
      if ((st.trieStages >>> st.stageId[i]!) & 1 && this.checkTries(st, st.stageId[i]!, flow, fb, wc, wb)) {
        Classifier.fold(st, stagesEnd, wc, wb);
        return null;
      }
      const end = st.stageEnd[i]!;
      stagesEnd = end;
      for (; j < end; j++) h = hashAdd(h, (flow[fb + used[j]!]! & vals[j]!) | 0);
      if (st.indices[i]!.get(h) === 0) {
        Classifier.fold(st, stagesEnd, wc, wb);
        return null;
      }
    }
    if ((st.trieStages >>> st.stageId[i]!) & 1 && this.checkTries(st, st.stageId[i]!, flow, fb, wc, wb)) {
      Classifier.fold(st, stagesEnd, wc, wb);
      return null;
    }
    const n = st.n;
    for (; j < n; j++) h = hashAdd(h, (flow[fb + used[j]!]! & vals[j]!) | 0);
    const rule = this.findMatch(st, flow, fb, version, h);
    if (!rule && st.portsTrie) {
      const pmask = st.mask[W_TP]!;
      this.scratch[0] = (flow[fb + W_TP]! & pmask) >>> 0;
      const mbits = st.portsTrie.lookup(this.scratch, 0, 32, null);
      const pfx = mbits === 0 ? 0 : mbits >= 32 ? 0xffffffff : (0xffffffff << (32 - mbits)) >>> 0;
      wc[wb + W_TP] = (wc[wb + W_TP]! | (pmask & pfx)) >>> 0;
      Classifier.fold(st, stagesEnd, wc, wb);
      return null;
    }
    Classifier.fold(st, n, wc, wb);
    return rule;
  }

  /**
   * The rule with exactly this match (key & mask, mask) and priority that is visible in
   * `version`, or null (OVS classifier_find_rule_exactly). Allocates nothing.
   */
  findExactly(key: Uint32Array, kb: number, mask: Uint32Array, mb: number, priority: number, version: number): ClsRule<T> | null {
    if (this.nRules === 0) return null;
    const st = this.subtableFor(mask, mb, false);
    if (!st) return null;
    const hash = Classifier.maskedHash(st, key, kb);
    for (let r = this.findEqualMasked(st, key, kb, hash); r; r = r.next) {
      if (r.priority === priority && r.visibleIn(version)) return r;
      if (r.priority < priority) break;
    }
    return null;
  }

  /**
   * True if a rule of priority `priority` visible in `version` overlaps the match (key, mask):
   * some flow matches both (OVS classifier_rule_overlaps, for check_overlap). Looks only at
   * subtables holding that priority; where the match's mask covers the subtable's, one hash probe.
   */
  overlaps(key: Uint32Array, kb: number, mask: Uint32Array, mb: number, priority: number, version: number): boolean {
    for (const st of this.subtables) {
      if (st.prios.count(priority) === 0) continue;
      let covers = true;
      for (let j = 0; j < st.n; j++) {
        const w = st.used[j]!;
        const v = st.vals[j]!;
        if (((mask[mb + w]! & v) >>> 0) !== v) {
          covers = false;
          break;
        }
      }
      if (covers) {
        // Both masks agree on st's bits: the rules to check are those with key & st.mask.
        const head = this.findEqualMasked(st, key, kb, Classifier.maskedHash(st, key, kb));
        for (let r = head; r; r = r.next) if (r.priority === priority && r.visibleIn(version)) return true;
        continue;
      }
      for (const r of st.list) {
        if (r.priority !== priority || !r.visibleIn(version)) continue;
        let ok = true;
        for (let j = 0; j < st.n; j++) {
          const w = st.used[j]!;
          if (((r.key[w]! ^ key[kb + w]!) & mask[mb + w]! & st.vals[j]!) !== 0) {
            ok = false;
            break;
          }
        }
        if (ok) return true;
      }
    }
    return false;
  }

  /**
   * Rules visible in `version` whose match is at least as specific as the criteria (OVS
   * cls_rule_is_loose_match / CLS_FOR_EACH_TARGET): the rule's mask has every bit of `mask`, and
   * the rule's key agrees with `key` under `mask`. A catch-all criteria selects every rule.
   * Order unspecified. Allocates the result array.
   *
   * The second time a criteria mask is asked for, an index for it is built (./loose-index.ts; at
   * most MAX_LOOSE_INDICES, the least recently used goes); from then on a query reads the rules
   * whose projection hashes like the criteria, O(selected). Without one: every rule of every
   * subtable whose mask covers the criteria's, as OVS.
   */
  matchingLoose(key: Uint32Array, kb: number, mask: Uint32Array, mb: number, version: number): ClsRule<T>[] {
    const out: ClsRule<T>[] = [];
    if (this.nRules === 0) return out;
    let catchAll = true;
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (mask[mb + i] !== 0) {
        catchAll = false;
        break;
      }
    }
    const idx = catchAll ? null : this.looseIndexFor(mask, mb);
    if (idx) {
      const b = idx.candidates(key, kb);
      if (b === undefined) return out;
      if (b instanceof Set) {
        for (const r of b) if (this.looseMatch(r, key, kb, mask, mb, version)) out.push(r);
      } else if (this.looseMatch(b, key, kb, mask, mb, version)) {
        out.push(b);
      }
      return out;
    }
    for (const st of this.subtables) {
      let covers = true;
      for (let i = 0; i < FLOW_WORDS; i++) {
        if ((mask[mb + i]! & ~st.mask[i]!) !== 0) {
          covers = false;
          break;
        }
      }
      if (!covers) continue;
      for (const r of st.list) if (this.looseMatch(r, key, kb, mask, mb, version)) out.push(r);
    }
    return out;
  }

  private looseMatch(r: ClsRule<T>, key: Uint32Array, kb: number, mask: Uint32Array, mb: number, version: number): boolean {
    if (!r.visibleIn(version)) return false;
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (((r.key[i]! ^ key[kb + i]!) & mask[mb + i]!) !== 0) return false;
    }
    return true;
  }

  /**
   * The loose index for this criteria mask: existing, or built on the mask's second query. At
   * the cap, the least recently used index makes room only if it has not been used in the last
   * LOOSE_HOT_WINDOW queries: more masks in rotation than the cap get scans rather than an index
   * rebuilt (O(rules)) on every query.
   */
  private looseIndexFor(mask: Uint32Array, mb: number): LooseIndex<ClsRule<T>> | null {
    const clock = ++this.looseClock;
    const h = Classifier.maskHash(mask, mb);
    const list = this.looseIdx.get(h);
    if (list) {
      for (const idx of list) {
        if (idx.sameMask(mask, mb)) {
          idx.lastUse = clock;
          return idx;
        }
      }
    }
    const asked = (this.looseAsked.get(h) ?? 0) + 1;
    if (asked < 2 || this.nRules < LOOSE_INDEX_MIN_RULES) {
      if (this.looseAsked.size >= 4096) this.looseAsked = new Map();
      this.looseAsked.set(h, asked);
      return null;
    }
    if (this.nLooseIdx >= MAX_LOOSE_INDICES && !this.evictLooseIndex(clock)) return null;
    this.looseAsked.delete(h);
    const idx = new LooseIndex<ClsRule<T>>(mask, mb, h);
    idx.lastUse = clock;
    for (const st of this.subtables) {
      if (!idx.covers(st.mask)) continue;
      st.loose.push(idx);
      for (const r of st.list) idx.add(r);
    }
    if (list) list.push(idx);
    else this.looseIdx.set(h, [idx]);
    this.nLooseIdx++;
    return idx;
  }

  /** Drops the least recently used index unless it is still hot. Returns whether one was dropped. */
  private evictLooseIndex(clock: number): boolean {
    let victim: LooseIndex<ClsRule<T>> | null = null;
    for (const list of this.looseIdx.values()) for (const idx of list) if (!victim || idx.lastUse < victim.lastUse) victim = idx;
    if (!victim || clock - victim.lastUse <= LOOSE_HOT_WINDOW) return false;
    const list = this.looseIdx.get(victim.maskHash)!;
    if (list.length === 1) this.looseIdx.delete(victim.maskHash);
    else list.splice(list.indexOf(victim), 1);
    this.nLooseIdx--;
    for (const st of this.subtables) {
      const i = st.loose.indexOf(victim);
      if (i >= 0) st.loose.splice(i, 1);
    }
    return true;
  }

  /** Number of loose-selection indices held (diagnostics, tests). */
  get nLooseIndices(): number {
    return this.nLooseIdx;
  }

  /** True if the criteria mask `mask[mb..]` has a loose-selection index (diagnostics, tests). */
  hasLooseIndex(mask: Uint32Array, mb = 0): boolean {
    const list = this.looseIdx.get(Classifier.maskHash(mask, mb));
    return list !== undefined && list.some((idx) => idx.sameMask(mask, mb));
  }

  /** Every rule in the classifier (visible or not), subtable by subtable. Allocates. */
  allRules(): ClsRule<T>[] {
    const out: ClsRule<T>[] = [];
    for (const st of this.subtables) for (const r of st.list) out.push(r);
    return out;
  }

  /** Max priorities of the subtables in lookup order (for tests and diagnostics). */
  subtableOrder(): number[] {
    return this.vec.map((s) => s.maxPriority);
  }

  /** The subtables' masks in lookup order (for tests and diagnostics; do not modify). */
  subtableMasks(): Uint32Array[] {
    return this.vec.map((s) => s.mask);
  }
}

/** Loose-selection indices kept per classifier (each costs O(1) per insert/remove in the subtables it covers). */
const MAX_LOOSE_INDICES = 8;
/** An index used within this many loose queries is not evicted for a new one. */
const LOOSE_HOT_WINDOW = 4 * MAX_LOOSE_INDICES;
/** Below this many rules a scan is as cheap as an index. */
const LOOSE_INDEX_MIN_RULES = 64;

function isHead<T>(st: Subtable<T>, r: ClsRule<T>): boolean {
  for (let h = st.rules.get(r.hashes[st.nIndices]!) ?? null; h; h = h.chain) if (h === r) return true;
  return false;
}

/** Sets the first `n` bits (from the most significant bit of word `w`) in wc (OVS mask_set_prefix_bits). */
function setPrefixBits(wc: Uint32Array, w: number, n: number): void {
  let i = 0;
  for (; i < n >>> 5; i++) wc[w + i] = 0xffffffff;
  if (n & 31) wc[w + i] = (wc[w + i]! | (0xffffffff << (32 - (n & 31)))) >>> 0;
}

/** True if the first `n` bits from word `w` are all set in wc (OVS mask_prefix_bits_set). */
function prefixBitsSet(wc: Uint32Array, w: number, n: number): boolean {
  let i = 0;
  for (; i < n >>> 5; i++) if (wc[w + i] !== 0xffffffff) return false;
  if (n & 31) {
    const m = (0xffffffff << (32 - (n & 31))) >>> 0;
    if (((wc[w + i]! & m) >>> 0) !== m) return false;
  }
  return true;
}
