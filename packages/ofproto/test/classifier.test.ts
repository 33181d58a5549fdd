/**
 * Classifier semantics: priorities, overlapping wildcards, versions, replacement, removal, loose
 * and strict selection; and two properties over random rule sets:
 * - lookup returns the highest-priority visible matching rule (checked against a linear scan);
 * - the wildcards are sound: every flow that agrees with the looked-up flow on the un-wildcarded
 *   bits gets the same rule (what makes a megaflow safe to cache).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC, W_TP, W_VLAN0, W_IPV6_DST,
  formatMatch, parseMatch
} from '@tsvs/packet';
import { Classifier, VERSION_NOT_REMOVED, type ClsRule, type PrefixField } from '@tsvs/ofproto';

function m(text: string): { key: Uint32Array; mask: Uint32Array } {
  const p = parseMatch(text);
  return { key: p.key, mask: p.mask };
}

function add<T>(c: Classifier<T>, text: string, priority: number, payload: T, version = 1): ClsRule<T> {
  const { key, mask } = m(text);
  return c.insert(key, 0, mask, 0, priority, payload, version).rule;
}

function flow(text: string): Uint32Array {
  return parseMatch(text).key;
}

function wcText(f: Uint32Array, wc: Uint32Array): string {
  const k = new Uint32Array(FLOW_WORDS);
  for (let i = 0; i < FLOW_WORDS; i++) k[i] = (f[i]! & wc[i]!) >>> 0;
  return formatMatch(k, 0, wc, 0);
}

describe('Classifier', () => {
  it('returns the highest-priority match among overlapping wildcards', () => {
    const c = new Classifier<string>();
    add(c, 'ip', 10, 'ip');
    add(c, 'tcp,tp_dst=80', 20, 'web');
    add(c, 'tcp,nw_src=10.0.0.0/8,tp_dst=80', 30, 'web-from-10');
    add(c, '', 0, 'default');
    const look = (t: string): string | undefined => c.lookup(flow(t), 0, 1)?.payload;
    expect(look('tcp,nw_src=10.1.1.1,tp_dst=80')).to.equal('web-from-10');
    expect(look('tcp,nw_src=11.1.1.1,tp_dst=80')).to.equal('web');
    expect(look('tcp,nw_src=11.1.1.1,tp_dst=81')).to.equal('ip');
    expect(look('arp')).to.equal('default');
    expect(c.nRules).to.equal(4);
    expect(c.nSubtables).to.equal(4);
    expect(c.subtableOrder()).to.deep.equal([30, 20, 10, 0]);
  });

  it('stops at subtables that cannot beat the match in hand, leaving their fields wildcarded', () => {
    const c = new Classifier<string>();
    add(c, 'tcp,tp_dst=22', 100, 'ssh');
    add(c, 'ip,nw_dst=10.0.0.1', 50, 'host');
    const f = flow('tcp,nw_src=1.1.1.1,nw_dst=10.0.0.1,tp_src=5,tp_dst=22');
    const wc = new Uint32Array(FLOW_WORDS);
    expect(c.lookup(f, 0, 1, wc)?.payload).to.equal('ssh');
    // The nw_dst subtable (max priority 50) was never consulted.
    expect(wcText(f, wc)).to.equal('tcp,tp_dst=22');
  });

  it('un-wildcards the subtable mask of a miss in its last stage, only earlier stages on an early miss', () => {
    const c = new Classifier<string>([]); // no prefix tries: plain staged lookup
    add(c, 'in_port=2,tcp,tp_dst=80', 100, 'a');
    add(c, 'tcp,nw_src=10.0.0.1,tp_dst=80', 90, 'b');
    add(c, '', 0, 'z');
    const wc = new Uint32Array(FLOW_WORDS);
    const f = flow('in_port=1,tcp,nw_src=10.0.0.2,tp_dst=80');
    expect(c.lookup(f, 0, 1, wc)?.payload).to.equal('z');
    // 'a' failed in the metadata stage (in_port only); 'b' failed in the L3 stage (dl_type, nw_src,
    // nw_proto), so its tp_dst (L4) stays wildcarded.
    expect(wcText(f, wc)).to.equal('tcp,in_port=1,nw_src=10.0.0.2');
  });

  it('prefix tracking un-wildcards only the address bits that rule out the prefixes', () => {
    const c = new Classifier<string>();
    add(c, 'ip,nw_dst=10.1.0.0/16', 100, 'net');
    add(c, '', 0, 'z');
    const wc = new Uint32Array(FLOW_WORDS);
    const f = flow('ip,nw_dst=192.168.0.1');
    expect(c.lookup(f, 0, 1, wc)?.payload).to.equal('z');
    // 192 = 0b1100_0000 differs from 10 in the first bit: one bit suffices.
    expect(wcText(f, wc)).to.equal('ip,nw_dst=128.0.0.0/1');

    const plain = new Classifier<string>([]);
    add(plain, 'ip,nw_dst=10.1.0.0/16', 100, 'net');
    add(plain, '', 0, 'z');
    const wc2 = new Uint32Array(FLOW_WORDS);
    plain.lookup(f, 0, 1, wc2);
    expect(wcText(f, wc2)).to.equal('ip,nw_dst=192.168.0.0/16');
  });

  it('supports IPv6 prefix tries when configured', () => {
    const c = new Classifier<string>(['ipv6_dst' as PrefixField]);
    expect(c.prefixFields).to.deep.equal(['ipv6_dst']);
    add(c, 'ipv6,ipv6_dst=2001:db8::/32', 100, 'doc');
    add(c, '', 0, 'z');
    const f = flow('ipv6,ipv6_dst=fe80::1');
    const wc = new Uint32Array(FLOW_WORDS);
    expect(c.lookup(f, 0, 1, wc)?.payload).to.equal('z');
    // 0xfe80 vs 0x2001: the first bit differs.
    expect(wcText(f, wc)).to.equal('ipv6,ipv6_dst=8000::/1');
    expect(wc[W_IPV6_DST]).to.equal(0x80000000);
    expect(() => c.setPrefixFields(['nw_src', 'nw_src'])).to.throw(/duplicate/);
  });

  it('rebuilds tries when the prefix fields change', () => {
    const c = new Classifier<string>([]);
    add(c, 'ip,nw_dst=10.1.0.0/16', 100, 'net');
    add(c, '', 0, 'z');
    c.setPrefixFields(['nw_dst']);
    const wc = new Uint32Array(FLOW_WORDS);
    const f = flow('ip,nw_dst=192.168.0.1');
    c.lookup(f, 0, 1, wc);
    expect(wcText(f, wc)).to.equal('ip,nw_dst=128.0.0.0/1');
  });

  it('narrows port wildcards with the ports trie', () => {
    const c = new Classifier<string>();
    add(c, 'tcp,tp_dst=80', 100, 'web');
    add(c, '', 0, 'z');
    const wc = new Uint32Array(FLOW_WORDS);
    const f = flow('tcp,tp_src=1,tp_dst=22');
    expect(c.lookup(f, 0, 1, wc)?.payload).to.equal('z');
    // 22 = 0x0016, 80 = 0x0050: they differ in the 10th bit of tp_dst.
    expect(wc[W_TP]).to.equal(0xffc0);
  });

  it('sees a rule only in the versions it is visible in', () => {
    const c = new Classifier<string>();
    const r = add(c, 'ip', 10, 'v2', 2);
    const f = flow('ip');
    expect(c.lookup(f, 0, 1)).to.equal(null);
    expect(c.lookup(f, 0, 2)?.payload).to.equal('v2');
    c.makeInvisible(r, 4);
    expect(c.lookup(f, 0, 3)?.payload).to.equal('v2');
    expect(c.lookup(f, 0, 4)).to.equal(null);
    c.restoreVisibility(r);
    expect(r.removeVersion).to.equal(VERSION_NOT_REMOVED);
    expect(c.lookup(f, 0, 4)?.payload).to.equal('v2');
  });

  it('keeps an old and a new identical rule apart by version', () => {
    const c = new Classifier<string>();
    const old = add(c, 'ip,nw_dst=1.2.3.4', 10, 'old', 1);
    c.makeInvisible(old, 2);
    const nu = c.insert(m('ip,nw_dst=1.2.3.4').key, 0, m('ip,nw_dst=1.2.3.4').mask, 0, 10, 'new', 2);
    expect(nu.replaced).to.equal(null);
    const f = flow('ip,nw_dst=1.2.3.4');
    expect(c.lookup(f, 0, 1)?.payload).to.equal('old');
    expect(c.lookup(f, 0, 2)?.payload).to.equal('new');
    expect(c.remove(old)).to.equal(true);
    expect(c.remove(old)).to.equal(false);
    expect(c.lookup(f, 0, 1)).to.equal(null);
    expect(c.lookup(f, 0, 2)?.payload).to.equal('new');
    expect(c.nRules).to.equal(1);
  });

  it('displaces an identical rule that is not being removed (classifier_replace)', () => {
    const c = new Classifier<string>();
    const a = add(c, 'tcp,tp_dst=80', 10, 'a');
    const { rule: b, replaced } = c.insert(m('tcp,tp_dst=80').key, 0, m('tcp,tp_dst=80').mask, 0, 10, 'b', 1);
    expect(replaced).to.equal(a);
    expect(a.inClassifier).to.equal(false);
    expect(b.inClassifier).to.equal(true);
    expect(c.nRules).to.equal(1);
    expect(c.lookup(flow('tcp,tp_dst=80'), 0, 1)?.payload).to.equal('b');
  });

  it('orders identical matches by priority and falls back when the top one goes', () => {
    const c = new Classifier<string>();
    const lo = add(c, 'ip', 5, 'lo');
    const hi = add(c, 'ip', 50, 'hi');
    const mid = add(c, 'ip', 20, 'mid');
    const f = flow('ip');
    expect(c.lookup(f, 0, 1)?.payload).to.equal('hi');
    c.remove(hi);
    expect(c.lookup(f, 0, 1)?.payload).to.equal('mid');
    expect(c.subtableOrder()).to.deep.equal([20]);
    c.remove(mid);
    c.remove(lo);
    expect(c.nSubtables).to.equal(0);
    expect(c.lookup(f, 0, 1)).to.equal(null);
  });

  it('finds rules exactly and loosely', () => {
    const c = new Classifier<string>();
    add(c, 'ip,nw_src=10.0.0.0/8', 10, 'a');
    add(c, 'tcp,nw_src=10.0.0.0/8,tp_dst=80', 20, 'b');
    add(c, 'arp', 30, 'c');
    const q = m('ip,nw_src=10.0.0.0/8');
    expect(c.findExactly(q.key, 0, q.mask, 0, 10, 1)?.payload).to.equal('a');
    expect(c.findExactly(q.key, 0, q.mask, 0, 11, 1)).to.equal(null);
    expect(c.matchingLoose(q.key, 0, q.mask, 0, 1).map((r) => r.payload).sort()).to.deep.equal(['a', 'b']);
    const all = new Uint32Array(FLOW_WORDS);
    expect(c.matchingLoose(all, 0, all, 0, 1).length).to.equal(3);
    expect(c.matchingLoose(all, 0, all, 0, 0).length).to.equal(0);
  });

  it('survives many inserts and removals with consistent indices (hash collisions, regrowth)', () => {
    const c = new Classifier<number>();
    const rules: ClsRule<number>[] = [];
    for (let i = 0; i < 3000; i++) rules.push(add(c, `ip,nw_dst=10.${(i >> 8) & 255}.${i & 255}.0/24`, 100, i));
    for (let i = 0; i < 3000; i += 2) c.remove(rules[i]!);
    for (let i = 0; i < 3000; i++) {
      const got = c.lookup(flow(`ip,nw_dst=10.${(i >> 8) & 255}.${i & 255}.7`), 0, 1)?.payload;
      expect(got).to.equal(i % 2 ? i : undefined);
    }
    expect(c.nRules).to.equal(1500);
  });
});

// ---- properties ----------------------------------------------------------------------------

interface RuleSpec { key: Uint32Array; mask: Uint32Array; priority: number; add: number; remove: number }

const NW = [0x0a000000, 0x0a010000, 0x0a010100, 0xc0a80000, 0x0a0000ff];
const PORTS = [22, 80, 443, 8080, 0];

function ruleArb(): fc.Arbitrary<RuleSpec> {
  return fc.record({
    inPort: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    ip: fc.boolean(),
    vlan: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    src: fc.option(fc.tuple(fc.constantFrom(...NW), fc.constantFrom(8, 16, 24, 31, 32)), { nil: undefined }),
    dst: fc.option(fc.tuple(fc.constantFrom(...NW), fc.constantFrom(1, 8, 16, 24, 32)), { nil: undefined }),
    proto: fc.option(fc.constantFrom(6, 17), { nil: undefined }),
    tp: fc.option(fc.tuple(fc.constantFrom(...PORTS), fc.constantFrom(0xffff, 0xfff0, 0xff00)), { nil: undefined }),
    priority: fc.integer({ min: 0, max: 1000 }),
    add: fc.integer({ min: 1, max: 3 }),
    life: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  }).map((r) => {
    const key = new Uint32Array(FLOW_WORDS);
    const mask = new Uint32Array(FLOW_WORDS);
    const set = (w: number, v: number, mk: number): void => {
      mask[w] = (mask[w]! | mk) >>> 0;
      key[w] = ((key[w]! & ~mk) | (v & mk)) >>> 0;
    };
    if (r.inPort !== undefined) set(W_IN_PORT, r.inPort, 0xffffffff);
    if (r.vlan !== undefined) set(W_VLAN0, r.vlan ? 0x1000 | r.vlan : 0, 0x1fff);
    if (r.ip) {
      set(W_DL_TYPE, 0x0800, 0xffff);
      const pm = (n: number): number => (n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0);
      if (r.src) set(W_NW_SRC, r.src[0], pm(r.src[1]));
      if (r.dst) set(W_NW_DST, r.dst[0], pm(r.dst[1]));
      if (r.proto !== undefined) {
        set(W_NW, r.proto << 24, 0xff000000);
        if (r.tp) set(W_TP, r.tp[0], r.tp[1]);
      }
    }
    return { key, mask, priority: r.priority, add: r.add, remove: r.life === undefined ? VERSION_NOT_REMOVED : r.add + r.life };
  });
}

function flowArb(): fc.Arbitrary<Uint32Array> {
  const addr = fc.oneof(fc.constantFrom(...NW), fc.constantFrom(0x0a000001, 0x0a0101fe, 0xc0a80101), fc.integer({ min: 0, max: 0xffffffff }));
  return fc.record({
    inPort: fc.integer({ min: 1, max: 3 }),
    vlan: fc.integer({ min: 0, max: 2 }),
    ip: fc.boolean(),
    src: addr,
    dst: addr,
    proto: fc.constantFrom(6, 17, 1),
    sport: fc.integer({ min: 0, max: 0xffff }),
    dport: fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 0xffff })),
  }).map((r) => {
    const f = new Uint32Array(FLOW_WORDS);
    f[W_IN_PORT] = r.inPort;
    f[W_VLAN0] = r.vlan ? (0x8100 << 16) | 0x1000 | r.vlan : 0;
    f[W_DL_TYPE] = r.ip ? 0x0800 : 0x0806;
    f[W_NW_SRC] = r.src >>> 0;
    f[W_NW_DST] = r.dst >>> 0;
    if (r.ip) {
      f[W_NW] = ((r.proto << 24) | (64 << 8)) >>> 0;
      f[W_TP] = ((r.sport << 16) | r.dport) >>> 0;
    }
    return f;
  });
}

/**
 * The rules a classifier holds after inserting `rules` in order, each made invisible at its
 * `remove` right after its insert: an insert displaces an identical rule (same key, mask and
 * priority) that is not scheduled for removal (Classifier.insert, OVS classifier_replace).
 */
function held(rules: RuleSpec[]): RuleSpec[] {
  const out: RuleSpec[] = [];
  const same = (a: RuleSpec, b: RuleSpec): boolean =>
    a.priority === b.priority && a.key.every((x, i) => x === b.key[i]) && a.mask.every((x, i) => x === b.mask[i]);
  for (const r of rules) {
    const j = out.findIndex((o) => o.remove === VERSION_NOT_REMOVED && same(o, r));
    if (j >= 0) out.splice(j, 1);
    out.push(r);
  }
  return out;
}

/** The priority of the highest-priority rule of `held(rules)` visible in `version` matching `f`; -1 if none. */
function linear(rules: RuleSpec[], f: Uint32Array, version: number): number {
  let best = -1;
  for (const r of held(rules)) {
    if (!(r.add <= version && version < r.remove)) continue;
    let ok = true;
    for (let i = 0; i < FLOW_WORDS; i++) if (((f[i]! & r.mask[i]!) >>> 0) !== r.key[i]) { ok = false; break; }
    if (ok && r.priority > best) best = r.priority;
  }
  return best;
}

describe('Classifier properties', () => {
  it('an identical rule inserted while one is visible displaces it, also for the versions after its own removal (the case fast-check found, seed 363483065)', () => {
    const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
    key[W_IN_PORT] = 2; mask[W_IN_PORT] = 0xffffffff;
    key[W_VLAN0] = 0x1002; mask[W_VLAN0] = 0x1fff;
    const c = new Classifier<number>([]);
    const first = c.insert(key, 0, mask, 0, 230, 0, 1);
    const second = c.insert(key, 0, mask, 0, 230, 1, 1);
    expect(second.replaced, 'the first is displaced').to.equal(first.rule);
    c.makeInvisible(second.rule, 2);
    c.insert(new Uint32Array(FLOW_WORDS), 0, new Uint32Array(FLOW_WORDS), 0, 0, 2, 1);
    const f = new Uint32Array(FLOW_WORDS);
    f[W_IN_PORT] = 2; f[W_VLAN0] = (0x8100 << 16) | 0x1002;
    expect(c.lookup(f, 0, 1)!.priority).to.equal(230);
    expect(c.lookup(f, 0, 2)!.priority, 'neither 230 rule from version 2 on').to.equal(0);
  });

  for (const tries of [[], ['nw_dst', 'nw_src']] as PrefixField[][]) {
    const label = tries.length ? 'with prefix tries' : 'without prefix tries';

    it(`finds the highest-priority visible match (${label})`, () => {
      fc.assert(fc.property(fc.array(ruleArb(), { minLength: 1, maxLength: 40 }), fc.array(flowArb(), { minLength: 1, maxLength: 20 }), (rules, flows) => {
        const c = new Classifier<number>(tries);
        rules.forEach((r, i) => {
          const cr = c.insert(r.key, 0, r.mask, 0, r.priority, i, r.add).rule;
          if (r.remove !== VERSION_NOT_REMOVED) c.makeInvisible(cr, r.remove);
        });
        for (const f of flows) {
          for (let v = 0; v <= 6; v++) {
            const got = c.lookup(f, 0, v);
            expect(got ? got.priority : -1).to.equal(linear(rules, f, v));
          }
        }
      }), { numRuns: 150 });
    });

    it(`returns sound wildcards: flows equal on the un-wildcarded bits get the same rule (${label})`, () => {
      fc.assert(fc.property(
        fc.array(ruleArb(), { minLength: 1, maxLength: 40 }),
        flowArb(),
        fc.array(fc.tuple(fc.integer({ min: 0, max: FLOW_WORDS - 1 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (rules, f, noise, version) => {
          // Distinct priorities: with ties OVS leaves the choice unspecified.
          rules.forEach((r, i) => { r.priority = i * 7 + (r.priority % 7); });
          const c = new Classifier<number>(tries);
          rules.forEach((r, i) => {
            const cr = c.insert(r.key, 0, r.mask, 0, r.priority, i, r.add).rule;
            if (r.remove !== VERSION_NOT_REMOVED) c.makeInvisible(cr, r.remove);
          });
          const wc = new Uint32Array(FLOW_WORDS);
          const first = c.lookup(f, 0, version, wc);
          // Change only wildcarded bits.
          const g = Uint32Array.from(f);
          for (const [w, bits] of noise) g[w] = ((g[w]! & wc[w]!) | (bits & ~wc[w]!)) >>> 0;
          const second = c.lookup(g, 0, version);
          expect(second?.payload).to.equal(first?.payload);
          // And the wildcards are never wider than needed to be correct per the linear scan.
          expect(second ? second.priority : -1).to.equal(linear(rules, g, version));
        },
      ), { numRuns: 400 });
    });
  }
});
