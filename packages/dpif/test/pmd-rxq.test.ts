/**
 * pmd-rxq-show and pmd-stats-clear on a running datapath: after a 5 s interval of traffic the busy
 * rxq shows its share of the PMD and the idle ones 0 %; clearing restarts the counters without
 * stopping the PMD.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PcapWriter } from '@tsvs/capture';
import { DPIF_FP_CREATE, Datapath, parseOdpActions } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { ipFrame, keyOf, maskOf, sleep } from './datapath-helpers.js';

describe('pmd-rxq-show and pmd-stats-clear on a running PMD', function () {
  this.timeout(30000);
  let dp: Datapath;
  let dir: string;
  after(async () => {
    await dp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the busy rxq once an interval completed; clear restarts the counters', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsvs-pmd-rxq-'));
    const frame = ipFrame({ dst: 0x0a000042 });
    const pcap = join(dir, 'gen.pcap');
    const w = new PcapWriter(pcap, { append: false });
    w.write(frame, 0, 0);
    w.close();
    dp = await Datapath.open({ name: 'rq0', nPmds: 1, pool: { nBufs: 4096 }, flowTable: { capacity: 256 } });
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory', options: { gen_pcap: pcap } });
    const p2 = await dp.portAdd({ name: 'p2', type: 'memory' });
    dp.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(frame, p1), mask: maskOf(), actions: parseOdpActions(String(p2)) });
    const gen = dp.netdev(p1) as MemoryNetdev;
    gen.generate(Infinity);
    gen.inject(frame);
    await sleep(300);

    dp.pmdStatsClear();
    const cleared = dp.pmdStats()[0]!.counters;
    expect(cleared.recv).to.be.lessThan(dp.totals().recv);
    await sleep(5600);
    // Over the last interval (-secs 5): OVS divides by the last interval's length times the number
    // of intervals shown, so over 60 s the first minute reads low (as in OVS).
    const show = dp.pmdRxqShow(5);
    gen.stopGenerator();
    const usage = (port: string): number => Number(new RegExp(`port: ${port} +queue-id: {2}0 \\(enabled\\) {3}pmd usage: +(\\d+) %`).exec(show)?.[1] ?? NaN);
    expect(show).to.match(/^Displaying last 5 seconds pmd usage %\npmd thread numa_id 0 core_id 0:\n {2}isolated : false\n/);
    expect(usage('p1'), show).to.be.at.least(50);
    expect(usage('p2'), show).to.equal(0);
    expect(usage('rq0'), show).to.equal(0);
    expect(show).to.match(/ {2}overhead: +\d+ %\n$/);
    // Counters after the clear count from the clear on; the datapath totals do not.
    await sleep(100); // the generator stops at the PMD's next burst
    const after = dp.pmdStats()[0]!.counters;
    expect(after.recv).to.be.greaterThan(cleared.recv);
    expect(after.recv).to.be.lessThan(dp.totals().recv);
    expect(dp.pmdStatsShow()).to.include(`  packets received: ${after.recv}\n`);
  });
});
