/**
 * The classifier's change-side structures, each against a plain model over random operations:
 * - PriorityCounts (a subtable's max priority after removals) against a sorted list;
 * - subtable lookup order: the incremental repositioning gives exactly the order OVS's pvector
 *   gives (push / swap-remove, then a stable sort by max priority after every change, or once per
 *   defer/publish batch), since ties decide which subtables a lookup visits (and so the megaflow);
 * - matchingLoose, once criteria masks have indices (built on a mask's second query, evicted
 *   least recently used beyond 8), against a scan of every rule, through inserts, displacements,
 *   invisibility and removals made after the indices exist;
 * - overlaps (check_overlap) against the pairwise definition.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC, W_TP } from '@tsvs/packet';
import { Classifier, PriorityCounts, VERSION_NOT_REMOVED, type ClsRule } from '@tsvs/ofproto';

const pm = (n: number): number => (n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0);

/** Mask number i of a small family (in_port, dl_type, nw_src/dst prefixes, nw_proto, tp_dst). */
function maskOf(i: number): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  if (i & 1) m[W_IN_PORT] = 0xffffffff;
  if (i & 2) {
    m[W_DL_TYPE] = 0xffff;
    m[W_NW_SRC] = pm([0, 8, 24, 32][(i >> 2) & 3]!);
    m[W_NW_DST] = pm([0, 16, 32][(i >> 4) % 3]!);
    if (i & 64) {
      m[W_NW] = 0xff000000;
      if (i & 128) m[W_TP] = 0xffff;
    }
  }
  return m;
}
const N_MASKS = 256;

/** A key from a small value space (so matches, displacements and loose selections happen). */
function keyOf(v: number): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_IN_PORT] = 1 + (v % 3);
  k[W_DL_TYPE] = 0x0800;
  k[W_NW_SRC] = (0x0a000000 | (((v >> 2) % 4) << 8) | ((v >> 4) % 3)) >>> 0;
  k[W_NW_DST] = (0xc0a80000 | ((v >> 6) % 3)) >>> 0;
  k[W_NW] = ((((v >> 8) & 1) ? 6 : 17) << 24) >>> 0;
  k[W_TP] = [22, 80][(v >> 9) & 1]!;
  return k;
}

const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('insert' as const), m: fc.integer({ min: 0, max: N_MASKS - 1 }), k: fc.nat(1023), p: fc.integer({ min: 0, max: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invisible' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('version' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('defer' as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('loose' as const), m: fc.integer({ min: 0, max: 15 }), k: fc.nat(1023) }) },
);

describe('PriorityCounts', () => {
  it('tracks the maximum of a multiset through adds and deletes (vs a sorted list)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { maxLength: 300 }), (ops) => {
      const pc = new PriorityCounts();
      const model: number[] = [];
      for (const [add, p] of ops) {
        const before = model.length ? Math.max(...model) : -Infinity;
        let changed: boolean;
        if (add) {
          model.push(p);
          changed = pc.add(p);
        } else {
          const i = model.indexOf(p);
          if (i >= 0) model.splice(i, 1);
          changed = pc.delete(p);
        }
        const max = model.length ? Math.max(...model) : -Infinity;
        expect(pc.max).to.equal(max);
        expect(changed).to.equal(max !== before);
        expect(pc.count(p)).to.equal(model.filter((x) => x === p).length);
        expect(pc.distinct).to.equal(new Set(model).size);
      }
    }), { numRuns: 300 });
  });

  it('removing a subtable\'s rules from the highest priority down keeps the max right', () => {
    const c = new Classifier<number>();
    const mask = maskOf(2 | (3 << 2));
    const rules: ClsRule<number>[] = [];
    for (let i = 0; i < 2000; i++) {
      const k = new Uint32Array(FLOW_WORDS);
      k[W_DL_TYPE] = 0x0800;
      k[W_NW_SRC] = i;
      rules.push(c.insert(k, 0, mask, 0, i, i, 1).rule);
    }
    for (let i = 1999; i > 0; i--) {
      c.remove(rules[i]!);
      expect(c.subtableOrder()).to.deep.equal([i - 1]);
    }
  });
});

describe('Classifier change structures', () => {
  it('keeps the subtables in the order of OVS\'s pvector (push, swap-remove, stable sort)', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 250 }), (ops) => {
      const c = new Classifier<number>();
      const rules: ClsRule<number>[] = [];
      // Model: subtables as mask indices with their rules' priorities.
      const model: { m: string; prios: number[]; max: number }[] = [];
      let dirty = false;
      let deferred = false;
      let version = 1;
      const maxOf = (s: { prios: number[] }): number => Math.max(...s.prios);
      const settle = (): void => {
        if (!deferred && dirty) {
          model.sort((a, b) => b.max - a.max);
          dirty = false;
        }
      };
      const ruleMask = new Map<ClsRule<number>, string>();
      for (const op of ops) {
        if (op.t === 'insert') {
          const { rule, replaced } = c.insert(keyOf(op.k), 0, maskOf(op.m), 0, op.p * 10, rules.length, version);
          if (replaced) rules.splice(rules.indexOf(replaced), 1);
          rules.push(rule);
          const ms = Array.from(maskOf(op.m)).join();
          ruleMask.set(rule, ms);
          if (!replaced) {
            let s = model.find((x) => x.m === ms);
            if (!s) {
              s = { m: ms, prios: [], max: -Infinity };
              model.push(s);
              dirty = true;
            }
            s.prios.push(op.p * 10);
            if (maxOf(s) !== s.max) {
              s.max = maxOf(s);
              dirty = true;
            }
          }
        } else if (op.t === 'remove' && rules.length) {
          const r = rules.splice(op.i % rules.length, 1)[0]!;
          c.remove(r);
          const si = model.findIndex((x) => x.m === ruleMask.get(r));
          const s = model[si]!;
          s.prios.splice(s.prios.indexOf(r.priority), 1);
          if (s.prios.length === 0) {
            const last = model.pop()!;
            if (si < model.length) model[si] = last;
            dirty = true;
          } else if (maxOf(s) !== s.max) {
            s.max = maxOf(s);
            dirty = true;
          }
        } else if (op.t === 'invisible' && rules.length) {
          c.makeInvisible(rules[op.i % rules.length]!, version + 1);
        } else if (op.t === 'version') {
          version++;
        } else if (op.t === 'defer') {
          if (deferred) c.publish();
          else c.defer();
          deferred = !deferred;
        }
        settle();
        if (!deferred) {
          const want = model.map((s) => s.m);
          expect(c.subtableMasks().map((m) => Array.from(m).join())).to.deep.equal(want);
          expect(c.subtableOrder()).to.deep.equal(model.map((s) => s.max));
        }
      }
    }), { numRuns: 200 });
  });

  it('selects loosely through its indices exactly as a scan of every rule does', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 50, maxLength: 400 }), fc.integer({ min: 0, max: 200 }), (ops, bulk) => {
      const c = new Classifier<number>();
      const rules: ClsRule<number>[] = [];
      let version = 1;
      let payload = 0;
      // Enough rules that indices get built (they are not below 64 rules).
      for (let i = 0; i < 64 + bulk; i++) {
        const { rule, replaced } = c.insert(keyOf(i * 7), 0, maskOf(i % N_MASKS), 0, i % 5, payload++, version);
        if (replaced) rules.splice(rules.indexOf(replaced), 1);
        rules.push(rule);
      }
      let queries = 0;
      for (const op of ops) {
        if (op.t === 'insert') {
          const { rule, replaced } = c.insert(keyOf(op.k), 0, maskOf(op.m), 0, op.p, payload++, version);
          if (replaced) rules.splice(rules.indexOf(replaced), 1);
          rules.push(rule);
        } else if (op.t === 'remove' && rules.length) {
          c.remove(rules.splice(op.i % rules.length, 1)[0]!);
        } else if (op.t === 'invisible' && rules.length) {
          c.makeInvisible(rules[op.i % rules.length]!, version + 1);
        } else if (op.t === 'version') {
          version++;
        } else if (op.t === 'loose') {
          // Criteria masks 0..15 of the family; 3 versions around the current one.
          const mask = maskOf(op.m * 17 % N_MASKS);
          const key = keyOf(op.k);
          for (const v of [version - 1, version, version + 1]) {
            const got = c.matchingLoose(key, 0, mask, 0, v).map((r) => r.payload).sort((a, b) => a - b);
            const want = rules.filter((r) => {
              if (!r.visibleIn(v)) return false;
              for (let i = 0; i < FLOW_WORDS; i++) {
                if ((mask[i]! & ~r.mask[i]!) !== 0) return false;
                if (((r.key[i]! ^ key[i]!) & mask[i]!) !== 0) return false;
              }
              return true;
            }).map((r) => r.payload).sort((a, b) => a - b);
            expect(got).to.deep.equal(want);
          }
          queries++;
        }
      }
      expect(c.nLooseIndices).to.be.at.most(8);
      if (queries > 40) expect(c.nLooseIndices).to.be.greaterThan(0);
    }), { numRuns: 120 });
  });

  it('builds a loose index on a mask\'s second query; beyond 8, evicts the least recently used once it is cold', () => {
    const c = new Classifier<number>();
    for (let i = 0; i < 200; i++) {
      const k = keyOf(i);
      k[W_NW_SRC] = (0x0a000000 + i) >>> 0;
      c.insert(k, 0, maskOf(255), 0, i % 3, i, 1);
    }
    expect(c.nRules).to.equal(200);
    const key = keyOf(5);
    const before = c.matchingLoose(key, 0, maskOf(2), 0, 1).length;
    expect(c.nLooseIndices).to.equal(0);
    expect(c.matchingLoose(key, 0, maskOf(2), 0, 1).length).to.equal(before);
    expect(c.nLooseIndices).to.equal(1);
    // Masks 2 + 4j (distinct nw_src/nw_dst prefixes) for j = 1..7 get indices on their second
    // query (8 with mask 2); the 9th, mask 34, finds every index hot and is scanned instead.
    for (let j = 1; j < 8; j++) {
      c.matchingLoose(key, 0, maskOf(2 + 4 * j), 0, 1);
      c.matchingLoose(key, 0, maskOf(2 + 4 * j), 0, 1);
    }
    expect(c.nLooseIndices).to.equal(8);
    expect(c.hasLooseIndex(maskOf(2))).to.equal(true);
    expect(c.matchingLoose(key, 0, maskOf(34), 0, 1).length).to.equal(0);
    expect(c.matchingLoose(key, 0, maskOf(34), 0, 1).length).to.equal(0);
    expect(c.hasLooseIndex(maskOf(34))).to.equal(false);
    // Asked over and over, mask 34 gets the slot of the least recently used index (mask 2, last
    // used at query 2) at the first query more than 32 queries later: query 35.
    let turns = 0;
    while (!c.hasLooseIndex(maskOf(34)) && turns < 100) {
      c.matchingLoose(key, 0, maskOf(34), 0, 1);
      turns++;
    }
    expect(18 + turns).to.equal(35);
    expect(c.hasLooseIndex(maskOf(2))).to.equal(false);
    expect(c.hasLooseIndex(maskOf(6))).to.equal(true);
    expect(c.nLooseIndices).to.equal(8);
    // An indexed mask still sees rules added and removed afterwards.
    const mask = maskOf(2 | 4); // dl_type, nw_src/8: covered by the rules' mask
    c.matchingLoose(key, 0, mask, 0, 1);
    const n0 = c.matchingLoose(key, 0, mask, 0, 1).length;
    expect(n0).to.be.greaterThan(0);
    expect(c.nLooseIndices).to.equal(8);
    const k2 = Uint32Array.from(key);
    const { rule } = c.insert(k2, 0, maskOf(255), 0, 77, 999, 1);
    expect(c.matchingLoose(key, 0, mask, 0, 1).length).to.equal(n0 + 1);
    c.remove(rule);
    expect(c.matchingLoose(key, 0, mask, 0, 1).length).to.equal(n0);
  });

  it('finds overlaps of the same priority as the pairwise definition', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ m: fc.integer({ min: 0, max: N_MASKS - 1 }), k: fc.nat(1023), p: fc.integer({ min: 0, max: 3 }), gone: fc.boolean() }), { maxLength: 60 }),
      fc.integer({ min: 0, max: N_MASKS - 1 }), fc.nat(1023), fc.integer({ min: 0, max: 3 }),
      (specs, qm, qk, qp) => {
        const c = new Classifier<number>();
        const rules: ClsRule<number>[] = [];
        specs.forEach((s, i) => {
          const { rule, replaced } = c.insert(keyOf(s.k), 0, maskOf(s.m), 0, s.p, i, 1);
          if (replaced) rules.splice(rules.indexOf(replaced), 1);
          rules.push(rule);
          if (s.gone) c.makeInvisible(rule, 2);
        });
        const mask = maskOf(qm);
        const key = keyOf(qk);
        for (let i = 0; i < FLOW_WORDS; i++) key[i] = (key[i]! & mask[i]!) >>> 0;
        for (const v of [1, 2]) {
          const want = rules.some((r) => {
            if (r.priority !== qp || !r.visibleIn(v)) return false;
            for (let i = 0; i < FLOW_WORDS; i++) if (((r.key[i]! ^ key[i]!) & r.mask[i]! & mask[i]!) !== 0) return false;
            return true;
          });
          expect(c.overlaps(key, 0, mask, 0, qp, v)).to.equal(want);
        }
      },
    ), { numRuns: 300 });
  });

  it('keeps removeVersion semantics for findExactly without allocating a key copy', () => {
    const c = new Classifier<string>();
    const mask = maskOf(2 | (3 << 2));
    const k = keyOf(9);
    const r = c.insert(k, 0, mask, 0, 5, 'a', 1).rule;
    // An unmasked key finds the rule (compared under the subtable's mask).
    const noisy = Uint32Array.from(k);
    noisy[W_TP] = 1234;
    expect(c.findExactly(noisy, 0, mask, 0, 5, 1)?.payload).to.equal('a');
    c.makeInvisible(r, 2);
    expect(c.findExactly(noisy, 0, mask, 0, 5, 2)).to.equal(null);
    expect(r.removeVersion).to.not.equal(VERSION_NOT_REMOVED);
  });
});
