import { expect } from 'chai';
import { DPIF_FP_CREATE, encodeOdpActions, formatOdpActions } from '@tsvs/dpif';
import { UKEY_EVICTED, UKEY_OPERATIONAL, UKEY_VISIBLE } from '@tsvs/ofproto/revalidator/index';
import { Harness, ip, mkKey, sleep } from './revalidator-helpers.js';

const actionsOf = (h: Harness, ufid: Uint32Array): string | null => {
  const g = h.flows.get(ufid);
  return g.flow ? formatOdpActions(g.flow.actions) : null;
};

describe('ofproto/revalidator: rounds with real threads, flow table and OpenFlow tables', function () {
  this.timeout(30000);
  let h: Harness | null = null;
  afterEach(async () => {
    if (h) await h.stop();
    h = null;
  });

  it('deletes a flow idle longer than max-idle, keeps a busy one, and sweeps its ukey', async () => {
    h = await Harness.start({ tunables: { 'max-idle': 300 } });
    h.apply(['ip,nw_dst=10.0.0.2,actions=output:2', 'ip,nw_dst=10.0.0.3,actions=output:3']);
    const busy = mkKey({ dst: ip(10, 0, 0, 2) }), idle = mkKey({ dst: ip(10, 0, 0, 3) });
    const b = h.install(busy), i = h.install(idle);
    expect([b.status, i.status]).to.deep.equal(['installed', 'installed']);
    expect(h.flows.flowCount).to.equal(2);
    await h.round();
    expect(h.flows.flowCount).to.equal(2); // nothing idle yet
    const ub = h.rv.ukeys.find(b.ufid);
    expect(h.rv.ukeys.state(ub)).to.equal(UKEY_OPERATIONAL);
    const t0 = performance.now();
    while (performance.now() - t0 < 900) {
      expect(h.hit(busy, 1)).to.equal(true);
      await sleep(50);
      if (performance.now() - t0 > 400) await h.round();
      if (h.flows.flowCount === 1) break;
    }
    expect(h.flows.get(i.ufid).error).to.equal('ENOENT');
    expect(h.flows.get(b.ufid).error).to.equal(0);
    await h.round(); // the sweep after the delete removes the EVICTED ukey (if the delete round did not)
    expect(h.rv.ukeys.find(i.ufid)).to.equal(-1);
    expect(h.rv.ukeys.count).to.equal(1);
    const s = h.rv.show();
    expect(s.deleted.idle).to.equal(1);
    expect(s.deletedByReason.idle).to.equal(1);
    expect(s.counters.removed).to.equal(1);
  });

  it('a rule whose actions change keeps its datapath flow, modified in place; packet counts continue (9 + 10 = 19)', async () => {
    h = await Harness.start();
    const [r0] = h.apply(['ip,nw_dst=10.0.0.2,actions=output:2']).added;
    const key = mkKey({ dst: ip(10, 0, 0, 2) });
    const f = h.install(key);
    const entry = h.flows.get(f.ufid).flow!.entry;
    expect(h.hit(key, 9)).to.equal(true);
    await h.round();
    expect(h.rule(r0!.id)!.nPackets).to.equal(9);
    expect(actionsOf(h, f.ufid)).to.equal('2');

    const mod = h.apply(['ip,nw_dst=10.0.0.2,actions=output:3'], 'modify');
    expect(mod.replaced).to.have.length(1);
    const r1 = mod.replaced[0]![1];
    await h.round();
    expect(actionsOf(h, f.ufid)).to.equal('3'); // same UFID, new actions
    expect(h.flows.get(f.ufid).flow!.entry).to.equal(entry); // modified in place, not re-created
    expect(h.rv.show().modified).to.equal(1);
    expect(h.rv.show().deleted.revalidation).to.equal(0);
    expect(h.hit(key, 10)).to.equal(true);
    await h.round();
    expect(h.flows.get(f.ufid).flow!.stats.packets).to.equal(19); // datapath stats kept across the modify
    expect(h.rule(r1.id)!.nPackets).to.equal(19);
    const dump = h.tables.dumpFlows();
    expect(dump).to.have.length(1);
    expect(dump[0]).to.match(/ n_packets=19, n_bytes=1216, .*actions=output:3$/);
    expect(h.rv.ukeys.rules(h.rv.ukeys.find(f.ufid))).to.deep.equal([r1.id]);
  });

  it('deleting a rule: flows whose megaflow no longer fits are deleted within one round (stats pushed); others are modified to the new actions', async () => {
    h = await Harness.start();
    const add = h.apply([
      'priority=100,ip,nw_dst=10.0.0.2,actions=output:2',
      'priority=10,tcp,tp_dst=80,actions=output:3',
      'priority=100,ip,nw_dst=10.0.0.9,actions=output:4',
    ]).added;
    const a = mkKey({ dst: ip(10, 0, 0, 2), tpDst: 80 }); // rule 1; its megaflow wildcards tp_dst
    const c = mkKey({ dst: ip(10, 0, 0, 9), tpDst: 81 }); // rule 3
    const fa = h.install(a), fc = h.install(c);
    h.hit(a, 5);
    h.hit(c, 4);
    await h.round();
    h.hit(a, 2); // not yet pushed when the rule goes
    h.apply(['priority=100,ip,nw_dst=10.0.0.2'], 'delete_strict');
    await h.round();
    // a now needs tp_dst (rule 2 matches on it): the installed mask is too wide → deleted.
    expect(h.flows.get(fa.ufid).error).to.equal('ENOENT');
    expect(h.rv.show().deletedByReason.wildcarded).to.equal(1);
    // Its 2 late packets were pushed with the delete, to the rule that forwarded them.
    expect(h.credited.get(add[0]!.id)).to.equal(7);
    expect(h.flows.get(fc.ufid).error).to.equal(0); // untouched
    expect(actionsOf(h, fc.ufid)).to.equal('4');

    // Deleting rule 2 leaves c's megaflow valid (kept); then deleting rule 3 empties the table: the
    // miss (drop) fits the installed megaflow → modified to drop in place, as OVS does.
    h.apply(['priority=10,tcp,tp_dst=80'], 'delete_strict');
    await h.round();
    expect(actionsOf(h, fc.ufid)).to.equal('4');
    h.apply(['priority=100,ip,nw_dst=10.0.0.9'], 'delete_strict');
    await h.round();
    expect(actionsOf(h, fc.ufid)).to.equal('drop');
    expect(h.rv.show().modified).to.equal(1);
    expect(h.rv.show().deletedByReason.wildcarded).to.equal(1);
  });

  it('rule n_packets equals the packets credited, over many flows, rounds and a final purge', async () => {
    h = await Harness.start({ nThreads: 2 });
    const rules = h.apply(Array.from({ length: 20 }, (_, r) => `ip,nw_dst=10.0.1.${r},actions=output:${1 + (r % 3)}`)).added;
    const keys = Array.from({ length: 60 }, (_, i) => mkKey({ dst: ip(10, 0, 1, i % 20), src: ip(10, 9, 0, i) }));
    // Distinct sources under one rule fold into one megaflow per rule (the mask has no nw_src): 20 flows.
    const sent = new Map<number, number>();
    for (const k of keys) h.install(k);
    expect(h.flows.flowCount).to.equal(20);
    let seed = 7;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < keys.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = seed % 13;
        if (n === 0) continue;
        expect(h.hit(keys[i]!, n, 100)).to.equal(true);
        const r = i % 20;
        sent.set(r, (sent.get(r) ?? 0) + n);
      }
      await h.round();
    }
    await h.rv.purge();
    expect(h.flows.flowCount).to.equal(0);
    expect(h.rv.show().deleted.purge).to.equal(20);
    for (let r = 0; r < 20; r++) {
      const rule = h.rule(rules[r]!.id)!;
      expect(rule.nPackets, `rule ${r}`).to.equal(sent.get(r) ?? 0);
      expect(rule.nBytes, `rule ${r} bytes`).to.equal((sent.get(r) ?? 0) * 100);
    }
    await h.round();
    expect(h.rv.ukeys.count).to.equal(0); // the purge removed the ukeys
  });

  it('adopts a flow put without ukey (as dpctl add-flow does) and revalidates it against the tables', async () => {
    h = await Harness.start();
    const [r] = h.apply(['ip,nw_dst=10.0.0.2,actions=output:2']).added;
    const key = mkKey({ dst: ip(10, 0, 0, 2) });
    const tr = h.handlerXl.translate(key, 0);
    // Installed with wrong actions and no ukey.
    const p = h.flows.put({ flags: DPIF_FP_CREATE, key, mask: tr.mask, actions: encodeOdpActions([{ type: 'output', port: 7 }]) });
    expect(p.error).to.equal(0);
    h.hit(key, 3);
    await h.round();
    const s = h.rv.show();
    expect(s.counters.adopted).to.equal(1);
    expect(s.modified).to.equal(1);
    expect(actionsOf(h, p.ufid)).to.equal('2');
    expect(h.rule(r!.id)!.nPackets).to.equal(3); // credited to the rule the translation found
    expect(h.rv.ukeys.count).to.equal(1);
  });

  it('ukey states over a flow\'s life: VISIBLE after install, OPERATIONAL after the put or a dump, EVICTED by a delete, then removed', async () => {
    h = await Harness.start({ tunables: { 'max-idle': 150 } });
    h.apply(['ip,actions=output:2']);
    const key = mkKey();
    const revalSeq = h.rv.ukeys.revalSeq;
    const tr = h.handlerXl.translate(key, 0);
    const ufid = Uint32Array.of(1, 2, 3, 4);
    const r = h.rv.ukeys.install({ ufid, key, mask: tr.mask, actions: tr.actions, rules: tr.rules, version: h.handlerXl.version, revalSeq, nowMs: performance.timeOrigin + performance.now() });
    expect(h.rv.ukeys.state(r.ukey)).to.equal(UKEY_VISIBLE);
    expect(h.flows.put({ flags: DPIF_FP_CREATE, key, mask: tr.mask, actions: tr.actions, ufid }).error).to.equal(0);
    // The handler has not finished yet: a dump confirms the flow (VISIBLE → OPERATIONAL).
    await h.round();
    expect(h.rv.ukeys.state(r.ukey)).to.equal(UKEY_OPERATIONAL);
    expect(h.rv.ukeys.installFinish(r.ukey, r.gen, true)).to.equal(true);
    expect(h.rv.ukeys.state(r.ukey)).to.equal(UKEY_OPERATIONAL);
    await sleep(200);
    await h.round(); // idle: deleted, EVICTED; this round's sweep removes it (its umap is swept after the dump)
    expect(h.flows.flowCount).to.equal(0);
    expect(h.rv.ukeys.find(ufid)).to.equal(-1);
    expect(h.rv.ukeys.installFinish(r.ukey, r.gen, true)).to.equal(false);
    expect(h.rv.ukeys.badTransitions).to.equal(0);
    // A failed put evicts; the next sweep removes the ukey.
    const r2 = h.rv.ukeys.install({ ufid, key, mask: tr.mask, actions: tr.actions, rules: tr.rules, version: h.handlerXl.version, revalSeq, nowMs: 0 });
    h.rv.ukeys.installFinish(r2.ukey, r2.gen, false);
    expect(h.rv.ukeys.state(r2.ukey)).to.equal(UKEY_EVICTED);
    await h.round();
    expect(h.rv.ukeys.count).to.equal(0);
  });
});
