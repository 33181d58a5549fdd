import { expect } from 'chai';
import { Harness, ip, mkKey, sleep, startPmdThread } from './revalidator-helpers.js';

describe('ofproto/revalidator: deletes and modifies under traffic lose and double-count nothing', function () {
  this.timeout(60000);
  let h: Harness | null = null;
  afterEach(async () => {
    if (h) await h.stop();
    h = null;
  });

  it('a PMD thread hits 2100 flows while 2 revalidators kill flows over twice the limit, modify flows in place, and purge; every rule ends with exactly the packets the PMD counted', async () => {
    const N = 2100;
    const M = 300; // rules modified per change (OfTables modify of all 2100 takes seconds per replica)
    // flow-limit 1000: the dynamic limit is 1000, so 2100 flows are over twice the limit.
    h = await Harness.start({ nThreads: 2, capacity: 4096, tunables: { 'flow-limit': 1000 }, checkLimit: false });
    const dst = (k: number): number => ip(10, 1, k >> 8, k & 255);
    const ruleText = (k: number, port: number): string => `ip,nw_dst=${10}.${1}.${k >> 8}.${k & 255},actions=output:${port}`;
    h.apply(Array.from({ length: N }, (_, k) => ruleText(k, 2)));
    const keys = Array.from({ length: N }, (_, k) => mkKey({ dst: dst(k) }));
    for (const k of keys) expect(h.install(k).status).to.equal('installed');
    expect(h.flows.flowCount).to.equal(N);
    const pmd = startPmdThread(h.flows, keys);
    let port = 2, mods = 0, reinstalled = 0;
    const t0 = performance.now();
    for (let it = 0; performance.now() - t0 < 2500; it++) {
      await h.round();
      // As handlers would on the misses: put the deleted flows back.
      for (const k of keys) if (h.install(k).status === 'installed') reinstalled++;
      if (it % 3 === 2) {
        port = port === 2 ? 3 : 2;
        h.apply(Array.from({ length: M }, (_, k) => ruleText(k, port)), 'modify_strict');
        mods++;
      }
      await sleep(20);
    }
    await h.round();
    await h.rv.purge(); // while the PMD still runs
    const burstsAtPurge = pmd.bursts();
    await sleep(20);
    const { hits, misses, bursts } = await pmd.stop();
    expect(bursts).to.be.greaterThan(burstsAtPurge); // traffic ran through the purge
    expect(h.flows.flowCount).to.equal(0);

    const s = h.rv.show();
    expect(s.deleted.flow_limit, 'kills over twice the limit').to.be.greaterThan(50);
    expect(s.modified, 'in-place modifies').to.be.greaterThan(M / 2);
    expect(s.deleted.purge).to.be.greaterThan(0);
    expect(reinstalled).to.be.greaterThan(50);
    expect(mods).to.be.greaterThan(0);
    expect(misses).to.be.greaterThan(0);

    let total = 0, bad = 0;
    const firstBad: string[] = [];
    for (let k = 0; k < N; k++) {
      const rule = h.tables.lookup(0, keys[k]!, 0, h.tables.version)!;
      total += hits[k]!;
      if (rule.nPackets !== hits[k] || rule.nBytes !== hits[k]! * 64) {
        bad++;
        if (firstBad.length < 5) firstBad.push(`key ${k}: rule ${rule.id} n_packets=${rule.nPackets} n_bytes=${rule.nBytes}, PMD counted ${hits[k]}`);
      }
    }
    expect(bad, firstBad.join('\n')).to.equal(0);
    expect(total).to.be.greaterThan(N * 5);
    expect(s.counters.creditedPackets).to.equal(total);
  });
});
