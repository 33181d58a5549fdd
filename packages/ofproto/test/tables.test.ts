/**
 * Versioned OpenFlow tables: versions and pinned readers, garbage collection, atomic batches,
 * replacement and modification (ids, stats, cookies), loose/strict selection, timeouts, stats
 * crediting and forwarding, dump-flows printing.
 */
import { expect } from 'chai';
import { FLOW_WORDS, parseMatch } from '@tsvs/packet';
import {
  OfTables, OfTablesError, parseFlowMod, makePortMap, type FlowModCommand,
} from '@tsvs/ofproto';

const fm = (text: string, cmd: FlowModCommand = 'add') => parseFlowMod(text, cmd);
const flow = (text: string): Uint32Array => parseMatch(text).key;

function clock(start = 1_000_000): { now: () => number; set: (t: number) => void; add: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (x) => { t = x; }, add: (ms) => { t += ms; } };
}

describe('OfTables', () => {
  it('adds to table 0 with priority 32768 by default, in a new version', () => {
    const t = new OfTables();
    const v0 = t.version;
    const res = t.apply(fm('ip,actions=output:1'));
    expect(res.version).to.equal(v0 + 1);
    expect(t.version).to.equal(v0 + 1);
    expect(res.added[0]!.table).to.equal(0);
    expect(res.added[0]!.priority).to.equal(32768);
    expect(t.lookup(0, flow('ip'), 0, v0)).to.equal(null);
    expect(t.lookup(0, flow('ip'), 0, t.version)?.id).to.equal(res.added[0]!.id);
    expect(t.nRules()).to.equal(1);
  });

  it('a lookup at an old version does not see newer changes; a pinned version keeps removed rules', () => {
    const t = new OfTables();
    t.apply(fm('priority=1,ip,actions=output:1'));
    const pinned = t.acquireVersion();
    const r1 = t.lookup(0, flow('ip'), 0, pinned)!;
    t.apply(fm('priority=1,ip,actions=output:2')); // replaces r1
    t.apply(fm('priority=9,ip,actions=output:3'));
    expect(t.lookup(0, flow('ip'), 0, pinned)?.id).to.equal(r1.id);
    expect(t.lookup(0, flow('ip'), 0, t.version)?.actions).to.deep.equal([{ type: 'output', port: 3, maxLen: 0 }]);
    // r1 is still in the classifier for the pinned reader...
    expect(t.getRule(r1.id)).to.equal(r1);
    expect(t.classifier(0).nRules).to.equal(3);
    // ...and goes once the reader lets go.
    t.releaseVersion(pinned);
    expect(t.getRule(r1.id)).to.equal(undefined);
    expect(t.classifier(0).nRules).to.equal(2);
    expect(t.lookup(0, flow('ip'), 0, pinned)).to.equal(null);
  });

  it('collects removed rules right away when nobody holds an old version', () => {
    const t = new OfTables();
    const { added } = t.apply(fm('ip,actions=drop'));
    t.apply(fm('ip', 'delete'));
    expect(t.getRule(added[0]!.id)).to.equal(undefined);
    expect(t.classifier(0).nRules).to.equal(0);
  });

  it('applies a batch atomically: an error leaves rules and version unchanged', () => {
    const t = new OfTables({ nTables: 4 });
    t.apply(fm('priority=5,ip,actions=output:1'));
    const v = t.version;
    const before = t.dumpFlows({}, { showStats: false });
    expect(() => t.apply([
      fm('priority=5,ip,actions=output:2'),
      fm('priority=6,arp,actions=output:3'),
      fm('ip', 'delete'),
      fm('table=7,actions=drop'),
    ])).to.throw(OfTablesError, /table 7/);
    expect(t.version).to.equal(v);
    expect(t.dumpFlows({}, { showStats: false })).to.deep.equal(before);
    expect(t.classifier(0).nRules).to.equal(1);
    // A good batch is one version and later mods see earlier ones.
    const res = t.apply([fm('priority=6,arp,actions=output:3'), fm('arp', 'delete'), fm('priority=7,udp,actions=output:4')]);
    expect(res.version).to.equal(v + 1);
    expect(t.dumpFlows({}, { showStats: false }).sort()).to.deep.equal([' priority=5,ip actions=output:1', ' priority=7,udp actions=output:4']);
  });

  it('refuses goto_table to a missing or earlier table, and check_overlap conflicts', () => {
    const t = new OfTables({ nTables: 3 });
    expect(() => t.apply(fm('actions=goto_table:3'))).to.throw(OfTablesError, /goto_table:3/);
    expect(() => t.apply(fm('actions=goto_table:255'))).to.throw(OfTablesError);
    t.apply(fm('priority=5,ip,nw_src=10.0.0.0/8,actions=drop'));
    try {
      t.apply(fm('check_overlap,priority=5,ip,nw_dst=1.2.3.4,actions=drop'));
      expect.fail('must throw');
    } catch (e) {
      expect((e as OfTablesError).code).to.equal('OFPFMFC_OVERLAP');
    }
    t.apply(fm('check_overlap,priority=6,ip,nw_dst=1.2.3.4,actions=drop'));
    t.apply(fm('check_overlap,priority=5,arp,actions=drop'));
    expect(t.nRules()).to.equal(3);
  });

  it('add over an identical rule: new id and version, stats kept (or reset), used kept', () => {
    const c = clock();
    const t = new OfTables({ now: c.now });
    const a = t.apply(fm('cookie=0x5,priority=5,ip,actions=output:1')).added[0]!;
    t.creditStats(a.id, 10, 1000, c.now() + 500);
    c.add(2000);
    const res = t.apply(fm('priority=5,ip,actions=output:2'));
    const b = res.added[0]!;
    expect(b.id).to.not.equal(a.id);
    expect(res.replaced).to.deep.equal([[a, b]]);
    expect([b.nPackets, b.nBytes]).to.deep.equal([10, 1000]);
    expect(b.usedMs).to.equal(a.usedMs);
    expect(b.cookie).to.equal(0n); // an add sets the cookie it carries
    expect(b.createdMs).to.equal(c.now()); // an add restarts the rule's life
    // Stats credited to the old id (a revalidator still holding it) reach the new rule.
    expect(t.creditStats(a.id, 1, 100, c.now())).to.equal(true);
    expect([b.nPackets, b.nBytes]).to.deep.equal([11, 1100]);
    const r = t.apply(fm('reset_counts,priority=5,ip,actions=output:3')).added[0]!;
    expect([r.nPackets, r.nBytes]).to.deep.equal([0, 0]);
    expect(r.usedMs).to.equal(b.usedMs);
    t.creditStats(b.id, 5, 5, c.now() + 1);
    expect([r.nPackets, r.nBytes, r.usedMs]).to.deep.equal([0, 0, c.now() + 1]);
  });

  it('modify keeps timeouts, flags, creation time, stats; changes actions and (if given) cookie', () => {
    const c = clock();
    const t = new OfTables({ now: c.now });
    const a = t.apply(fm('idle_timeout=60,hard_timeout=120,send_flow_rem,cookie=0x3,priority=5,ip,actions=output:1')).added[0]!;
    t.creditStats(a.id, 7, 700, c.now());
    c.add(5000);
    const b = t.apply(fm('idle_timeout=1,ip,actions=output:2', 'modify')).added[0]!;
    expect([b.idleTimeout, b.hardTimeout, b.flags, b.createdMs, b.modifiedMs]).to.deep.equal([60, 120, a.flags, a.createdMs, c.now()]);
    expect([b.nPackets, b.nBytes, b.cookie]).to.deep.equal([7, 700, 3n]);
    expect(b.actions).to.deep.equal([{ type: 'output', port: 2, maxLen: 0 }]);
    const d = t.apply(fm('cookie=0x9,ip,actions=output:2', 'modify')).added[0]!;
    expect(d.cookie).to.equal(9n);
    expect(t.nRules()).to.equal(1);
  });

  it('modify selects loosely or strictly, by cookie mask; without a match it adds (OpenFlow 1.0)', () => {
    const t = new OfTables();
    t.apply([
      fm('priority=10,ip,nw_src=10.0.0.0/8,actions=output:1'),
      fm('priority=20,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=output:1'),
      fm('cookie=0x1,priority=30,arp,actions=output:1'),
    ]);
    expect(t.apply(fm('ip,nw_src=10.0.0.0/8,actions=output:2', 'modify')).added.map((r) => r.priority).sort()).to.deep.equal([10, 20]);
    expect(t.apply(fm('priority=20,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=output:3', 'modify_strict')).added.length).to.equal(1);
    expect(t.apply(fm('cookie=0x1/0x1,actions=output:4', 'modify')).added.map((r) => r.priority)).to.deep.equal([30]);
    // No match and a cookie mask: nothing happens (still a new version).
    const v = t.version;
    expect(t.apply(fm('cookie=0x2/0x2,actions=output:4', 'modify')).added).to.deep.equal([]);
    expect(t.version).to.equal(v + 1);
    // No match, no cookie mask: the rule is added.
    expect(t.apply(fm('priority=3,udp,actions=output:5', 'modify_strict')).added.map((r) => r.priority)).to.deep.equal([3]);
    expect(t.nRules()).to.equal(4);
  });

  it('delete selects loosely or strictly, by cookie mask and by out_port, in one table or all', () => {
    const t = new OfTables();
    t.apply([
      fm('priority=5,ip,actions=output:1'),
      fm('priority=6,tcp,actions=output:2,output:3'),
      fm('priority=7,udp,actions=CONTROLLER:64'),
      fm('cookie=0x10,priority=8,arp,actions=output:1'),
      fm('table=1,priority=5,ip,actions=output:2'),
    ]);
    expect(t.apply(fm('priority=6,ip', 'delete_strict')).deleted.length).to.equal(0);
    expect(t.apply(fm('out_port=2', 'delete')).deleted.map((r) => [r.table, r.priority])).to.deep.equal([[0, 6], [1, 5]]);
    expect(t.apply(fm('out_port=CONTROLLER', 'delete')).deleted.map((r) => r.priority)).to.deep.equal([7]);
    expect(t.apply(fm('cookie=0x10/0xf0', 'delete')).deleted.map((r) => r.priority)).to.deep.equal([8]);
    expect(t.apply(fm('priority=5,ip', 'delete_strict')).deleted.length).to.equal(1);
    expect(t.nRules()).to.equal(0);
  });

  it('selects rules in one table for mod/del with table=N, all tables otherwise', () => {
    const t = new OfTables();
    t.apply([fm('table=0,ip,actions=output:1'), fm('table=1,ip,actions=output:1'), fm('table=2,ip,actions=output:1')]);
    expect(t.apply(fm('table=1,ip,actions=output:2', 'modify')).added.map((r) => r.table)).to.deep.equal([1]);
    expect(t.apply(fm('ip,actions=output:3', 'modify')).added.map((r) => r.table)).to.deep.equal([0, 1, 2]);
    expect(() => t.apply(fm('table=254,ip', 'delete'))).to.not.throw();
    const small = new OfTables({ nTables: 2 });
    expect(() => small.apply(fm('table=5,ip', 'delete'))).to.throw(OfTablesError, /table 5/);
  });

  it('expires rules on hard timeout (from the last change) and idle timeout (from the last use)', () => {
    const c = clock(0);
    const t = new OfTables({ now: c.now });
    const hard = t.apply(fm('hard_timeout=10,priority=1,ip,actions=drop')).added[0]!;
    const idle = t.apply(fm('idle_timeout=5,priority=2,ip,actions=drop')).added[0]!;
    t.apply(fm('priority=3,ip,actions=drop'));
    expect(t.expire(5000)).to.deep.equal([]);
    const v = t.version;
    t.creditStats(idle.id, 1, 60, 4000); // used at 4 s: idle until 9 s
    expect(t.expire(9000)).to.deep.equal([]);
    expect(t.version).to.equal(v);
    const e1 = t.expire(9001);
    expect(e1.map((e) => [e.rule.id, e.reason])).to.deep.equal([[idle.id, 'idle_timeout']]);
    expect(idle.removedReason).to.equal('idle_timeout');
    expect(t.version).to.equal(v + 1);
    const e2 = t.expire(10001);
    expect(e2.map((e) => [e.rule.id, e.reason])).to.deep.equal([[hard.id, 'hard_timeout']]);
    expect(t.nRules()).to.equal(1);
  });

  it('a modify restarts the hard timeout; idle timeout follows the forwarded used time', () => {
    const c = clock(0);
    const t = new OfTables({ now: c.now });
    t.apply(fm('hard_timeout=10,idle_timeout=8,ip,actions=drop'));
    c.set(6000);
    const b = t.apply(fm('ip,actions=output:1', 'modify')).added[0]!;
    expect(b.modifiedMs).to.equal(6000);
    expect(b.usedMs).to.equal(0);
    expect(t.expire(8001).map((e) => e.reason)).to.deep.equal(['idle_timeout']);
    const t2 = new OfTables({ now: c.now });
    c.set(0);
    const r = t2.apply(fm('hard_timeout=10,ip,actions=drop')).added[0]!;
    c.set(6000);
    t2.apply(fm('ip,actions=output:1', 'modify'));
    expect(t2.expire(10001)).to.deep.equal([]);
    expect(t2.expire(16001).map((e) => e.reason)).to.deep.equal(['hard_timeout']);
    expect(r.removedReason).to.equal('replaced');
  });

  it('credits stats: adds counts, keeps the latest used time, ignores unknown ids', () => {
    const t = new OfTables({ now: () => 100 });
    const r = t.apply(fm('ip,actions=drop')).added[0]!;
    expect(t.creditStats(r.id, 3, 300, 500)).to.equal(true);
    expect(t.creditStats(r.id, 2, 200, 400)).to.equal(true);
    expect([r.nPackets, r.nBytes, r.usedMs]).to.deep.equal([5, 500, 500]);
    expect(t.creditStats(12345, 1, 1, 1)).to.equal(false);
  });

  it('prints rules as ovs-ofctl dump-flows does', () => {
    const c = clock(10_000);
    const t = new OfTables({ now: c.now });
    const r = t.apply(fm('cookie=0xab,table=2,idle_timeout=30,priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=output:2', 'add')).added[0]!;
    t.apply(fm('priority=0,actions=NORMAL'));
    c.set(12_345);
    t.creditStats(r.id, 42, 4200, 11_000);
    expect(t.dumpFlows()).to.deep.equal([
      ' cookie=0x0, duration=2.345s, table=0, n_packets=0, n_bytes=0, idle_age=2, priority=0 actions=NORMAL',
      ' cookie=0xab, duration=2.345s, table=2, n_packets=42, n_bytes=4200, idle_timeout=30, idle_age=1, priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=output:2',
    ]);
    expect(t.dumpFlows({ table: 2 }, { showStats: false })).to.deep.equal([
      ' cookie=0xab, table=2, idle_timeout=30, priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=output:2',
    ]);
    // hard_age appears once the rule was modified after it was created.
    c.set(14_000);
    t.apply(fm('table=2,tcp,actions=output:3', 'modify'));
    c.set(17_500);
    expect(t.dumpFlows({ table: 2 })[0]).to.equal(
      ' cookie=0xab, duration=7.500s, table=2, n_packets=42, n_bytes=4200, idle_timeout=30, idle_age=6, hard_age=3, priority=100,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=output:3',
    );
    const pm = makePortMap([['p2', 2]]);
    expect(t.dumpFlows({ table: 2 }, { showStats: false, portMap: pm })[0]).to.match(/actions=output:3$/);
    t.apply(fm('table=3,actions=output:2'));
    expect(t.dumpFlows({ table: 3 }, { showStats: false, portMap: pm })).to.deep.equal([' table=3, actions=output:p2']);
    const q = parseMatch('tcp');
    expect(t.dumpFlows({ key: q.key, mask: q.mask }, { showStats: false }).length).to.equal(1);
    const all = new Uint32Array(FLOW_WORDS);
    expect(t.dumpFlows({ key: all, mask: all }).length).to.equal(3);
  });

  it('gives the same ids and versions for the same changes (replicas stay in step)', () => {
    const mods = [fm('priority=1,ip,actions=drop'), fm('priority=2,arp,actions=drop'), fm('ip,actions=output:1', 'modify'), fm('arp', 'delete')];
    const a = new OfTables({ now: () => 0 });
    const b = new OfTables({ now: () => 0 });
    for (const m of mods) {
      const ra = a.apply(structuredClone(m));
      const rb = b.apply(structuredClone(m));
      expect(ra.version).to.equal(rb.version);
      expect(ra.added.map((r) => r.id)).to.deep.equal(rb.added.map((r) => r.id));
    }
    expect(a.dumpFlows({}, { showStats: false })).to.deep.equal(b.dumpFlows({}, { showStats: false }));
  });
});
