/**
 * The handler's upcall latency covers the time an upcall waited in its queue: the PMD stamps each
 * upcall record with its enqueue time (ms, datapath clock) and the handler measures from that
 * stamp to the flow being installed. Real datapath and PMD thread; the handler core runs in this
 * thread so that the test decides when it takes the upcalls: they wait in the queue for WAIT_MS
 * first, so every recorded latency must be at least WAIT_MS (a lower bound that holds whatever the
 * scheduling: the stamp is never later than the enqueue). Measured from the moment the handler
 * took them, as before, the latencies would be the translation and put alone.
 */
import { expect } from 'chai';
import { Datapath } from '@tsvs/dpif';
import { HandlerStats, S_HIST, S_LAT_SUM, HIST_BUCKETS, type HandlerCore } from '@tsvs/ofproto/handler/index';
import { coreDatapath, coreHandler, memPort, sleep, uniqueFrame, waitFor } from './helpers.js';

const WAIT_MS = 300;

describe('slow path: upcall latency includes queueing', function () {
  this.timeout(30000);
  let dp: Datapath | null = null;
  let core: HandlerCore | null = null;
  afterEach(async () => {
    core?.close();
    core = null;
    await dp?.close();
    dp = null;
  });

  it('upcalls that waited in the queue are reported with at least that wait (enqueue → flow installed)', async () => {
    const c = await coreDatapath();
    dp = c.dp;
    const { p, x } = c;
    const stats = HandlerStats.create();
    core = coreHandler(c, ['priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop', `priority=10,in_port=${p},actions=output:${x}`], { stats });
    const n = 10;
    expect(memPort(dp, p).inject(Array.from({ length: n }, (_, i) => uniqueFrame(3, i)))).to.equal(n);
    await waitFor(() => dp!.upcallStats(p).pending === n, 5000, 'the misses queued');
    await sleep(WAIT_MS);
    let taken = 0;
    while (taken < n) taken += core.round();
    const lat = stats.latencySummary(stats.portLine(p));
    console.log(`    ${n} upcalls queued ${WAIT_MS} ms before the handler ran: latency µs min ≥ ${WAIT_MS * 1000} expected; avg ${lat.avgUs.toFixed(0)}, max ${lat.maxUs.toFixed(0)}`);
    expect(stats.counters(stats.portLine(p)).installed).to.equal(n);
    expect(lat.count).to.equal(n);
    // Every one: the histogram's lowest non-empty bucket ends at or above WAIT_MS, and the average too.
    expect(lat.avgUs).to.be.at.least(WAIT_MS * 1000);
    const f = stats.f, line = stats.portLine(p);
    const sum = f[line + S_LAT_SUM]!;
    const min = lowestBucketStartUs(f, line);
    expect(sum).to.be.at.least(n * WAIT_MS * 1000);
    expect(min, 'the smallest latency').to.be.at.least(WAIT_MS * 1000 / Math.SQRT2);
    await waitFor(() => memPort(dp!, x).stats().tx_packets === n, 5000, 'the packets forwarded');
  });
});

/** Lower edge (µs) of the lowest non-empty latency bucket of a line (handler-stats.ts: bucket b = [2^(b/2), 2^((b+1)/2)) µs). */
function lowestBucketStartUs(f: Float64Array, line: number): number {
  for (let b = 0; b < HIST_BUCKETS; b++) if (f[line + S_HIST + b]! > 0) return b === 0 ? 0 : Math.pow(2, b / 2);
  return Infinity;
}
