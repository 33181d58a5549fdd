/**
 * OfTables' change-side structures against plain definitions, over random flow-mod sequences
 * (adds, loose and strict modifies and deletes, by cookie and out_port, batches that fail, pinned
 * versions, timeouts):
 * - selection (`select`, which mod/del use) through the classifier's loose indices and the cookie
 *   index equals a filter over every rule still held, in table then creation order;
 * - the gc queue: after every change and release no rule invisible to all usable versions is
 *   held, and none a usable version sees has been collected;
 * - tables are created on first use and empty ones cost no classifier.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FLOW_WORDS } from '@tsvs/packet';
import {
  OfTables, OfTablesError, parseFlowMod, outputsToPort, OFPP_NONE, TABLE_ANY,
  type FlowMod, type FlowModCommand, type OfRule, type RuleCriteria,
} from '@tsvs/ofproto';

const N_TABLES = 3;
const COOKIE_ALL = 0xffffffffffffffffn;

const matchArb = fc.record({
  proto: fc.constantFrom('', 'ip', 'tcp', 'tcp', 'udp', 'arp'),
  inPort: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
  src: fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5 }), fc.constantFrom('', '/24', '/31')), { nil: undefined }),
  dport: fc.option(fc.constantFrom(0, 80, 81, 443), { nil: undefined }),
}).map((m) => {
  const parts: string[] = [];
  if (m.proto) parts.push(m.proto);
  if (m.inPort !== undefined) parts.push(`in_port=${m.inPort}`);
  if (m.proto && m.proto !== 'arp' && m.src) parts.push(`nw_src=10.0.${m.src[0]}.${m.src[1]}${m.src[2]}`);
  if ((m.proto === 'tcp' || m.proto === 'udp') && m.dport !== undefined) parts.push(`tp_dst=${m.dport}`);
  return parts.join(',');
});

const fmArb: fc.Arbitrary<FlowMod> = fc.record({
  cmd: fc.constantFrom<FlowModCommand>('add', 'add', 'add', 'add', 'modify', 'modify_strict', 'delete', 'delete_strict'),
  table: fc.option(fc.integer({ min: 0, max: N_TABLES }), { nil: undefined }),
  priority: fc.constantFrom(1, 2, 32768),
  cookie: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  select: fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('-1', '0x1')), { nil: undefined }),
  timeout: fc.option(fc.constantFrom('idle_timeout=1', 'hard_timeout=2'), { nil: undefined }),
  outPort: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
  match: matchArb,
  action: fc.constantFrom('output:1', 'output:2', 'drop', 'CONTROLLER'),
}).map((f) => {
  const p: string[] = [];
  if (f.table !== undefined) p.push(`table=${f.table}`);
  if (f.cmd !== 'delete') p.push(`priority=${f.priority}`);
  if (f.cmd !== 'delete' && f.cmd !== 'delete_strict' && f.cookie !== undefined) p.push(`cookie=0x${f.cookie}`);
  if (f.cmd !== 'add' && f.select) p.push(`cookie=0x${f.select[0]}/${f.select[1]}`);
  if (f.cmd === 'add' && f.timeout) p.push(f.timeout);
  if (f.cmd.startsWith('delete') && f.outPort !== undefined) p.push(`out_port=${f.outPort}`);
  if (f.match) p.push(f.match);
  if (!f.cmd.startsWith('delete')) p.push(`actions=${f.action}`);
  return parseFlowMod(p.join(','), f.cmd);
});

type Op =
  | { t: 'apply'; mods: FlowMod[] }
  | { t: 'pin' }
  | { t: 'release'; i: number }
  | { t: 'tick'; ms: number }
  | { t: 'select'; fm: FlowMod; strict: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.array(fmArb, { minLength: 1, maxLength: 4 }).map((mods): Op => ({ t: 'apply', mods })) },
  { weight: 1, arbitrary: fc.constant<Op>({ t: 'pin' }) },
  { weight: 1, arbitrary: fc.nat().map((i): Op => ({ t: 'release', i })) },
  { weight: 1, arbitrary: fc.constantFrom(500, 1500, 3000).map((ms): Op => ({ t: 'tick', ms })) },
  { weight: 4, arbitrary: fc.tuple(fmArb, fc.boolean()).map(([fm, strict]): Op => ({ t: 'select', fm, strict })) },
);

/** `select` by its definition: every held rule, filtered, in table then creation order. */
function naiveSelect(held: Iterable<OfRule>, c: RuleCriteria, version: number): number[] {
  const key = c.key ?? new Uint32Array(FLOW_WORDS);
  const mask = c.mask ?? new Uint32Array(FLOW_WORDS);
  const out: OfRule[] = [];
  for (const r of held) {
    if (c.table !== undefined && c.table !== TABLE_ANY && r.table !== c.table) continue;
    if (!r.visibleIn(version)) continue;
    let ok = true;
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (c.strict) {
        if (r.mask[i] !== mask[i] || r.key[i] !== ((key[i]! & mask[i]!) >>> 0)) ok = false;
      } else if ((mask[i]! & ~r.mask[i]!) !== 0 || ((r.key[i]! ^ key[i]!) & mask[i]!) !== 0) {
        ok = false;
      }
    }
    if (c.strict && r.priority !== (c.priority ?? 32768)) ok = false;
    if (!ok) continue;
    if (((r.cookie ^ (c.cookie ?? 0n)) & (c.cookieMask ?? 0n)) !== 0n) continue;
    if ((c.outPort ?? OFPP_NONE) !== OFPP_NONE && !outputsToPort(r.actions, c.outPort!)) continue;
    out.push(r);
  }
  out.sort((a, b) => a.table - b.table || a.id - b.id);
  return out.map((r) => r.id);
}

describe('OfTables change structures', () => {
  it('selects, collects and pins as the definitions say, through the indices', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 20, maxLength: 160 }), (ops) => {
      let now = 1_000_000;
      const t = new OfTables({ nTables: N_TABLES, now: () => now });
      const everAdded = new Map<number, OfRule>();
      const pins: number[] = [];
      const check = (): void => {
        const oldest = t.oldestVersion;
        for (const r of everAdded.values()) {
          const held = t.getRule(r.id) !== undefined;
          if (held) expect(r.removeVersion, `rule ${r.id} collectable but held`).to.be.greaterThan(oldest);
          else expect(r.removeVersion, `rule ${r.id} collected while visible`).to.be.at.most(oldest);
        }
        let inCls = 0;
        for (let tb = 0; tb < N_TABLES; tb++) inCls += t.classifier(tb).nRules;
        expect(inCls).to.equal([...everAdded.values()].filter((r) => t.getRule(r.id)).length);
        expect(t.nPending).to.equal([...everAdded.values()].filter((r) => t.getRule(r.id) && r.removeVersion !== Number.MAX_SAFE_INTEGER).length);
      };
      for (const op of ops) {
        if (op.t === 'apply') {
          try {
            for (const r of t.apply(op.mods).added) everAdded.set(r.id, r);
          } catch (e) {
            expect(e).to.be.instanceOf(OfTablesError);
          }
        } else if (op.t === 'pin') {
          pins.push(t.acquireVersion());
        } else if (op.t === 'release' && pins.length) {
          t.releaseVersion(pins.splice(op.i % pins.length, 1)[0]!);
        } else if (op.t === 'tick') {
          now += op.ms;
          t.expire();
        } else if (op.t === 'select') {
          const fm = op.fm;
          // Ask twice: the second time a criteria mask goes through a loose index.
          for (let k = 0; k < 2; k++) {
            for (const cookieMask of [fm.cookieMask, COOKIE_ALL]) {
              const c: RuleCriteria = {
                table: fm.table, key: fm.key, mask: fm.mask, strict: op.strict, priority: fm.priority,
                cookie: fm.cookie, cookieMask, outPort: fm.outPort,
              };
              const held = [...everAdded.values()].filter((r) => t.getRule(r.id));
              expect(t.select(c).map((r) => r.id)).to.deep.equal(naiveSelect(held, c, t.version));
              if (pins.length) {
                const v = pins[0]!;
                expect(t.select({ ...c, version: v }).map((r) => r.id)).to.deep.equal(naiveSelect(held, c, v));
              }
            }
          }
        }
        check();
      }
      while (pins.length) t.releaseVersion(pins.pop()!);
      check();
      expect(t.nPending).to.equal(0);
    }), { numRuns: 150 });
  });

  it('selects the same through the cookie index as through the classifier with many rules', () => {
    const t = new OfTables({ nTables: 2 });
    const mods: FlowMod[] = [];
    for (let i = 0; i < 1200; i++) {
      mods.push(parseFlowMod(`table=${i % 2},cookie=0x${i % 3},priority=${i % 5},tcp,nw_src=10.${i >> 8}.${i & 255}.0/24,tp_dst=${i % 7},actions=output:${1 + (i % 2)}`, 'add'));
    }
    t.apply(mods);
    const held = t.select({});
    expect(held.length).to.equal(1200);
    for (const text of ['', 'tcp', 'tcp,tp_dst=3', 'tcp,nw_src=10.0.7.0/24']) {
      const q = parseFlowMod(`cookie=0x1/-1${text ? ',' + text : ''}`, 'delete');
      const c: RuleCriteria = { key: q.key, mask: q.mask, cookie: 1n, cookieMask: COOKIE_ALL };
      for (let k = 0; k < 2; k++) expect(t.select(c).map((r) => r.id)).to.deep.equal(naiveSelect(held, c, t.version));
      const masked: RuleCriteria = { ...c, cookieMask: 1n };
      expect(t.select(masked).map((r) => r.id)).to.deep.equal(naiveSelect(held, masked, t.version));
    }
    // A delete by cookie removes exactly those rules.
    const { deleted } = t.apply(parseFlowMod('cookie=0x2/-1', 'delete'));
    expect(deleted.length).to.equal(400);
    expect(deleted.every((r) => r.cookie === 2n)).to.equal(true);
    expect(t.nRules()).to.equal(800);
  });

  it('keeps removed rules for the oldest pin only, collecting in removal order as pins go', () => {
    const t = new OfTables({ nTables: 1 });
    t.apply(parseFlowMod('priority=1,ip,actions=output:1', 'add'));
    const v1 = t.acquireVersion();
    t.apply(parseFlowMod('priority=1,ip,actions=output:2', 'modify_strict'));
    const v2 = t.acquireVersion();
    t.apply(parseFlowMod('priority=1,ip,actions=output:3', 'modify_strict'));
    t.apply([]);
    expect(t.nPending).to.equal(2);
    t.releaseVersion(v2); // v1 still sees the first rule and keeps everything after it
    expect(t.nPending).to.equal(2);
    const v3 = t.acquireVersion();
    t.releaseVersion(v1);
    expect(t.nPending).to.equal(0);
    expect(t.classifier(0).nRules).to.equal(1);
    t.releaseVersion(v3);
  });

  it('creates a table\'s classifier on first use only', () => {
    const t = new OfTables();
    expect(t.lookup(200, new Uint32Array(FLOW_WORDS), 0, t.version)).to.equal(null);
    expect(t.select({}).length).to.equal(0);
    t.apply(parseFlowMod('table=7,actions=drop', 'add'));
    expect(t.classifier(7).nRules).to.equal(1);
    expect(t.classifier(8).nRules).to.equal(0);
    expect(t.lookup(7, new Uint32Array(FLOW_WORDS), 0, t.version)?.table).to.equal(7);
  });
});
