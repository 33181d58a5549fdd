/**
 * A PMD thread that dies while it holds a flow-table epoch (online, its QSBR counter nonzero, as a
 * PMD is whenever it polls) must not make flow-table writers wait for a quiescent point it will
 * never reach: on the Worker's 'exit' the datapath releases its slot, so deletes in other threads
 * (a handler, a revalidator) and on the control thread complete at once instead of timing out
 * after the grace timeout (10 s) with an error. Then `restartPmd` brings the PMD back with the
 * same id and traffic flows again. Real PMD worker threads, killed with Worker.terminate().
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import {
  DPIF_FP_CREATE, Datapath, Q_COUNTER, QSBR_STRIDE, parseOdpActions, type PmdExitEvent,
} from '@tsvs/dpif';
import { W_NW_DST } from '@tsvs/packet';
import { ipFrame, keyOf, maskOf, waitFor } from './datapath-helpers.js';

/** A generous bound: the grace timeout it replaces is 10 s; a prompt delete takes well under 1 ms. */
const PROMPT_MS = 2000;

interface DelResult { error: string | number | null; thrown: string | null; ms: number }

/** A writer thread that deletes `ufid` once `go` is called. */
async function startWriter(dp: Datapath, ufid: Uint32Array): Promise<{ go(): void; result: Promise<DelResult> }> {
  const ctl = new SharedArrayBuffer(8);
  const w = new Worker(new URL('./workers/flow-del-worker.mjs', import.meta.url), {
    workerData: { tableSab: dp.table.sab, ctlSab: ctl, ufid: Array.from(ufid) },
  });
  const msgs: DelResult[] = [];
  let wake: (() => void) | null = null;
  w.on('message', (m: DelResult | { ready: true }) => {
    if (!('ready' in m)) msgs.push(m);
    wake?.();
  });
  const next = (): Promise<void> => new Promise((r) => { wake = r; });
  await next(); // ready
  const result = (async () => {
    while (msgs.length === 0) await next();
    await w.terminate();
    return msgs[0]!;
  })();
  return {
    go: () => {
      const c = new Int32Array(ctl);
      Atomics.store(c, 0, 1);
      Atomics.notify(c, 0);
    },
    result,
  };
}

/** A classic pcap file (LINKTYPE_ETHERNET) holding `frames`, for a memory port's generator. */
function writePcap(path: string, frames: Uint8Array[]): void {
  const parts: Uint8Array[] = [];
  const gh = new DataView(new ArrayBuffer(24));
  gh.setUint32(0, 0xa1b2c3d4, true);
  gh.setUint16(4, 2, true);
  gh.setUint16(6, 4, true);
  gh.setUint32(16, 65535, true);
  gh.setUint32(20, 1, true);
  parts.push(new Uint8Array(gh.buffer));
  for (const f of frames) {
    const rh = new DataView(new ArrayBuffer(16));
    rh.setUint32(8, f.length, true);
    rh.setUint32(12, f.length, true);
    parts.push(new Uint8Array(rh.buffer), f);
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** Blocks this thread (its event loop included) for `ms`. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('datapath: a PMD thread that dies', function () {
  this.timeout(60000);
  let dp: Datapath | null = null;
  afterEach(async () => {
    await dp?.close();
    dp = null;
  });

  it('does not make flow-table writers wait for it: deletes right after its death complete, in other threads and on the control thread', async () => {
    const { d, p1, p2, gen } = await openBusy('dead0');
    const ufids: Uint32Array[] = [];
    for (let i = 0; i < 3; i++) {
      const f = ipFrame({ dst: 0x0a000700 + i });
      const r = d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(f, p1), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions(String(p2)) });
      expect(r.error).to.equal(0);
      ufids.push(r.ufid);
    }
    // The PMD forwards the generated frames through flow 0: it is really looking flows up.
    await waitFor(() => d.totals().sent_pkts > 1000, 5000, 'generated frames forwarded');
    const counterAt = d.table.qsbrBase + 0 * QSBR_STRIDE + Q_COUNTER;
    expect(Atomics.load(d.table.i32, counterAt), 'PMD 0 online').to.not.equal(0);

    const exits: PmdExitEvent[] = [];
    d.onPmdExit((e) => exits.push(e));
    const w1 = await startWriter(d, ufids[0]!);
    const w2 = await startWriter(d, ufids[1]!);
    const threadId = d.crashPmd(0, 'terminate');
    // Keep this thread's event loop from seeing the exit for a while, so that writer 1 starts its
    // delete after the PMD thread stopped and before the datapath noticed (it must wait for PMD 0).
    blockFor(100);
    w1.go();
    blockFor(100);
    const frozen = Atomics.load(d.table.i32, counterAt);
    await waitFor(() => exits.length === 1, 5000, 'the PMD exit event');
    expect(exits[0]).to.include({ pmdId: 0, threadId, expected: false });
    expect(d.deadPmdIds()).to.deep.equal([0]);

    const r1 = await w1.result;
    console.log(`    PMD counter at death ${frozen}; writer 1 (started before the death was noticed): ${r1.ms.toFixed(1)} ms`);
    expect(r1.thrown).to.equal(null);
    expect(r1.error).to.equal(0);
    expect(r1.ms).to.be.below(PROMPT_MS);
    expect(Atomics.load(d.table.i32, counterAt), 'PMD 0 offline after its death').to.equal(0);
    // Right after: a writer in another thread, and the control thread itself.
    w2.go();
    const r2 = await w2.result;
    expect(r2).to.include({ error: 0, thrown: null });
    expect(r2.ms).to.be.below(PROMPT_MS);
    const t0 = performance.now();
    expect(d.flowDel(ufids[2]!).error).to.equal(0);
    expect(performance.now() - t0).to.be.below(PROMPT_MS);
    expect(d.stats().flows).to.equal(0);

    // The PMD comes back with the same id and forwards the generated frames again.
    await d.restartPmd(0);
    expect(d.deadPmdIds()).to.deep.equal([]);
    expect(d.pmdIds()).to.deep.equal([0]);
    expect(d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(gen, p1), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions(String(p2)) }).error).to.equal(0);
    const sent = d.totals().sent_pkts;
    await waitFor(() => d.totals().sent_pkts > sent + 1000, 5000, 'frames forwarded by the new PMD');
    expect(Atomics.load(d.table.i32, counterAt), 'the new PMD 0 online').to.not.equal(0);
    expect(() => d.releaseDeadPmd(0)).to.throw(/PMD 0 is running/);
  });

  it('an uncaught exception in the PMD loop is a death too (exit event with the error, slot released)', async () => {
    const { d } = await openBusy('dead1');
    await waitFor(() => d.totals().recv > 1000, 5000, 'generated frames received');
    const exits: PmdExitEvent[] = [];
    d.onPmdExit((e) => exits.push(e));
    const counterAt = d.table.qsbrBase + Q_COUNTER;
    expect(Atomics.load(d.table.i32, counterAt)).to.not.equal(0);
    d.crashPmd(0, 'throw');
    await waitFor(() => exits.length === 1, 5000, 'the PMD exit event');
    expect(exits[0]).to.include({ pmdId: 0, expected: false });
    expect(exits[0]!.error).to.be.a('string');
    expect(Atomics.load(d.table.i32, counterAt)).to.equal(0);
    const f = ipFrame({ dst: 0x0a000801 });
    const r = d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(f, 1), mask: maskOf(), actions: parseOdpActions('drop') });
    expect(r.error).to.equal(0);
    expect(d.flowDel(r.ufid).error).to.equal(0);
  });

  /**
   * A datapath with one PMD kept busy by a memory port's generator (p1's rxq is never empty): the
   * PMD never sleeps, so it is always online, holding an epoch, when it is killed.
   */
  async function openBusy(name: string): Promise<{ d: Datapath; p1: number; p2: number; gen: Uint8Array }> {
    dp = await Datapath.open({ name, nPmds: 1, maxPmds: 2, flowTable: { capacity: 1024 } });
    const d = dp;
    const gen = ipFrame({ dst: 0x0a000700 });
    const pcap = join(tmpdir(), `tsvs-pmd-death-${process.pid}.pcap`);
    writePcap(pcap, [gen]);
    const p2 = await d.portAdd({ name: 'p2', type: 'memory' });
    const p1 = await d.portAdd({ name: 'p1', type: 'memory', options: { gen_pcap: pcap, gen: 'inf' } });
    rmSync(pcap);
    return { d, p1, p2, gen };
  }

  it('a PMD the datapath stops is an expected exit', async () => {
    dp = await Datapath.open({ name: 'dead2', nPmds: 2, maxPmds: 2, flowTable: { capacity: 64 } });
    const exits: PmdExitEvent[] = [];
    dp.onPmdExit((e) => exits.push(e));
    await dp.setPmdCount(1);
    expect(exits.map((e) => [e.pmdId, e.expected])).to.deep.equal([[1, true]]);
    expect(dp.deadPmdIds()).to.deep.equal([]);
    expect(() => dp!.crashPmd(1)).to.throw(/no running PMD 1/);
  });
});
