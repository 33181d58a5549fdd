import { expect } from 'chai';
import { adaptFlowLimit, initialFlowLimit, shouldRevalidate, effectiveMaxIdle, killThemAll } from '@tsvs/ofproto/revalidator/index';
import { Harness, ip, mkKey, sleep } from './revalidator-helpers.js';

/** OVS 3.1 udpif_revalidator's adaptation, transcribed with C unsigned integer arithmetic. */
function ovsAdapt(limit: number, duration: number, nFlows: number, max: number): number {
  let l = limit >>> 0;
  const d = Math.max(duration, 1);
  if (d > 2000) l = Math.trunc(l / Math.trunc(d / 1000));
  else if (d > 1300) l = Math.trunc((l * 3) / 4);
  else if (d < 1000 && l < Math.trunc((nFlows * 1000) / d)) l += 1000;
  return Math.min(max, Math.max(l, 1000));
}

describe('ofproto/revalidator: flow limit arithmetic (OVS udpif_revalidator, should_revalidate)', () => {
  it('adapts as OVS: /seconds over 2000 ms, x3/4 over 1300 ms, +1000 under 1000 ms when flows outpace it, clamped to [1000, flow-limit]', () => {
    expect(initialFlowLimit(200000)).to.equal(10000);
    expect(initialFlowLimit(3000)).to.equal(3000);
    const cases: Array<[number, number, number, number, number]> = [
      [10000, 2100, 50, 200000, 5000],
      [10000, 3999, 50, 200000, 3333],
      [10000, 1301, 50, 200000, 7500],
      [10000, 1300, 50, 200000, 10000], // 1300 is not over 1300, and not under 1000
      [10000, 999, 10000, 200000, 11000], // 10000 < 10000*1000/999
      [10000, 999, 9990, 200000, 10000], // 10000 = 9990*1000/999: no room
      [10000, 1, 11, 200000, 11000],
      [1500, 5000, 10, 200000, 1000],
      [199500, 10, 1000000, 200000, 200000],
      [500, 10, 1, 200000, 1000],
      [10000, 10, 1000000, 5000, 5000],
    ];
    for (const [l, d, n, max, want] of cases) {
      expect(adaptFlowLimit(l, d, n, max), `limit ${l} duration ${d} flows ${n}`).to.equal(want);
      expect(ovsAdapt(l, d, n, max)).to.equal(want);
    }
    // And equal to the transcription everywhere on a grid.
    for (const l of [0, 999, 1000, 1234, 10000, 77777, 200000]) for (const d of [0, 1, 7, 999, 1000, 1299, 1301, 2000, 2001, 2999, 3000, 10500]) {
      for (const n of [0, 1, 500, 9999, 123456]) expect(adaptFlowLimit(l, d, n, 200000)).to.equal(ovsAdapt(l, d, n, 200000));
    }
    expect(effectiveMaxIdle(1001, 1000, 10000)).to.equal(100);
    expect(effectiveMaxIdle(1000, 1000, 10000)).to.equal(10000);
    expect(killThemAll(2001, 1000)).to.equal(true);
    expect(killThemAll(2000, 1000)).to.equal(false);
  });

  it('should_revalidate: always the first time and after short rounds; after a long round only flows above min-revalidate-pps', () => {
    expect(shouldRevalidate(0, 0, 5000, 400, 500, 5)).to.equal(true); // never pushed
    expect(shouldRevalidate(0, 1000, 5000, 249, 500, 5)).to.equal(true); // short round
    expect(shouldRevalidate(0, 1000, 5000, 250, 500, 5)).to.equal(false); // 4000 ms since, 1 packet: < 5 pps
    expect(shouldRevalidate(21, 1000, 5000, 250, 500, 5)).to.equal(true); // 4000/21 = 190 ms < 200 ms
    expect(shouldRevalidate(20, 1000, 5000, 250, 500, 5)).to.equal(false); // 200 ms is not below 200 ms
    expect(shouldRevalidate(1, 5000, 4000, 250, 500, 5)).to.equal(true); // clock behind used: duration 0
  });
});

describe('ofproto/revalidator: flow limit and min-revalidate-pps driven by slowed dumps (real threads)', function () {
  this.timeout(40000);
  let h: Harness | null = null;
  afterEach(async () => {
    if (h) await h.stop();
    h = null;
  });

  it('a dump over 1300 ms cuts the limit by a quarter, one over 2000 ms divides it by the seconds, fast rounds grow it by 1000; set-flow-limit and flow-limit clamp', async () => {
    h = await Harness.start({ nThreads: 2 });
    h.apply(Array.from({ length: 200 }, (_, k) => `ip,nw_dst=10.2.0.${k},actions=output:2`));
    for (let k = 0; k < 200; k++) h.install(mkKey({ dst: ip(10, 2, 0, k) }));
    expect(h.rv.ukeys.flowLimit).to.equal(10000);
    const step = async (delay: number): Promise<{ before: number; after: number; d: number }> => {
      h!.rv.setDumpDelay(delay);
      const before = h!.rv.ukeys.flowLimit;
      await h!.round();
      return { before, after: h!.rv.ukeys.flowLimit, d: h!.rv.show().dumpDurationMs };
    };
    let r = await step(1400);
    expect(r.d).to.be.at.least(1400);
    expect(r.after).to.equal(adaptFlowLimit(r.before, r.d, 200, 200000));
    if (r.d < 2000) expect(r.after).to.equal(7500);
    r = await step(2100);
    expect(r.d).to.be.at.least(2100);
    expect(r.after).to.equal(Math.max(1000, Math.floor(r.before / Math.floor(r.d / 1000))));
    expect(r.after).to.be.lessThan(r.before / 1.9);
    // Fast rounds: 200 flows in a few ms is more than the limit allows per second: +1000 each.
    let grew = 0;
    for (let i = 0; i < 3; i++) {
      r = await step(0);
      expect(r.after).to.equal(adaptFlowLimit(r.before, r.d, 200, 200000));
      if (r.after === r.before + 1000) grew++;
    }
    expect(grew).to.be.greaterThan(0);
    // upcall/set-flow-limit sets the dynamic limit; the next round clamps it to at least 1000.
    h.rv.setFlowLimit(500);
    expect(h.rv.show().flows.limit).to.equal(500);
    r = await step(0);
    expect(r.after).to.equal(adaptFlowLimit(500, r.d, 200, 200000));
    expect(r.after).to.be.at.least(1000);
    // flow-limit caps it.
    h.rv.setTunables({ 'flow-limit': 1200 });
    h.rv.setFlowLimit(5000);
    r = await step(0);
    expect(r.after).to.equal(1200);
    expect(h.rv.show().flows).to.include({ current: 200, max: 200, limit: 1200 });
  });

  it('after a long round, a stale flow below min-revalidate-pps is deleted (too expensive) while a busy one is re-translated', async () => {
    h = await Harness.start({ tunables: { 'max-revalidator': 200, 'min-revalidate-pps': 5 }, dumpDelayMs: 150 });
    h.apply(['ip,nw_dst=10.0.0.2,actions=output:2', 'ip,nw_dst=10.0.0.3,actions=output:2']);
    const busy = mkKey({ dst: ip(10, 0, 0, 2) }), slow = mkKey({ dst: ip(10, 0, 0, 3) });
    const fb = h.install(busy), fs = h.install(slow);
    h.hit(busy, 1);
    h.hit(slow, 1);
    await h.round(); // pushes the first packets; takes over max-revalidator / 2
    expect(h.rv.show().dumpDurationMs).to.be.at.least(150);
    await sleep(300);
    h.hit(busy, 100);
    h.apply(['ip,nw_dst=10.0.0.2,actions=output:3', 'ip,nw_dst=10.0.0.3,actions=output:3'], 'modify_strict');
    await h.round();
    const s = h.rv.show();
    expect(s.deletedByReason.too_expensive).to.equal(1);
    expect(h.flows.get(fs.ufid).error).to.equal('ENOENT');
    expect(h.flows.get(fb.ufid).error).to.equal(0);
    expect(s.modified).to.equal(1);
    // With short rounds both would have been re-translated.
    h.rv.setDumpDelay(0);
    await h.round();
    await h.round();
    const f3 = h.install(slow);
    expect(f3.status).to.equal('installed');
    h.hit(slow, 1);
    await h.round();
    await sleep(300);
    h.apply(['ip,nw_dst=10.0.0.3,actions=output:4'], 'modify_strict');
    await h.round();
    expect(h.rv.show().deletedByReason.too_expensive).to.equal(1);
    expect(h.rv.show().modified).to.equal(2);
  });
});
