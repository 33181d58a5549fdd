/**
 * `pnpm bench upcall [--json] [--flows N] [--reps R] [--warmup W]`: flow setups per second end to end, through
 * the real slow path: PMD miss → per-port upcall queue → handler thread (xlate at one table
 * version, ukey, put CREATE in one operate per batch, execute) → the packet forwarded, and the
 * flow in the datapath. Memory ports, one PMD thread.
 *
 * Workload: two input ports A1, A2 each generate N/2 distinct 64-byte UDP frames (the PMD's
 * generator copies each template once), every one with its own source MAC; the rules
 * `priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop` and `in_port=A1/A2,actions=output:X` make
 * dl_src part of every megaflow, so each frame needs its own flow. The upcall queues are big enough
 * to hold the whole burst (nothing is lost: every frame is handled). With 2 handlers each serves
 * one input port's queue. A fresh datapath and bridge per run; revalidators run without timed
 * rounds (their own benchmark is `pnpm bench revalidator`), flow limit raised above N.
 *
 * Warm-up: before the clock starts, each input port sends W (default 10000) frames that are new
 * flows too (the first W of its capture), and the run waits until they are forwarded. Every
 * thread of a run is new, so without it the measurement is mostly start-up: code running in V8's
 * interpreter until the optimizing compiler has compiled it (on V8's helper threads, counted in
 * the process's CPU), first garbage collections of each thread's set-up objects. With W = 8000 and
 * N = 40000, the 1-handler rate moved from ~80k to ~250k/s (per CPU-second: 85k to 260k) on the
 * same tree, back to back, load average 13-16. A handler needs about 10000 translations before
 * V8 is done compiling it: with W = 5000 (5000 per handler with 2 handlers) V8's helper threads
 * still used 80-220 ms of CPU during the measured 40000 setups, 30-90 ms with W = 15000.
 * `--warmup 0` gives the cold-start figure. The N measured frames are still each a new megaflow.
 *
 * Figures:
 *   flow_setups_per_s_1_handler, flow_setups_per_s_2_handlers   N / (first frame generated →
 *       last frame forwarded to X), median of the runs (all runs in *_runs)
 *   *_installed            flows installed in the datapath by the measured frames (must be N)
 *   normal_flow_setups_per_s_1_handler   the same with `actions=NORMAL` on 3 more ports (every
 *       frame learns a new MAC and floods to 4 ports), 1 handler
 *   *_per_cpu_s            flow setups per CPU-second of the whole process (PMD, handlers, main,
 *                          clock threads): what the slow path costs, less dependent on what else
 *                          runs on the machine than the wall-clock rate
 *   handler_latency_us_p50 / _p99 (1 handler)   the handlers' latency histogram (HandlerStats), warm-up frames included
 *   cpu_share_*            CPUs the process used during the run (machine has 2)
 *   load_avg_1m_start/end  the machine's load average around the benchmark (other jobs)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PcapWriter } from '@tsvs/capture';
import { Datapath } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { Ofproto } from '@tsvs/ofproto';

const FRAME_LEN = 64;

function frame(tag: number, i: number): Uint8Array {
  const f = new Uint8Array(FRAME_LEN);
  f.set([0x02, 0, 0, 0, 0, 0x02], 0);
  f.set([0x06, tag, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255], 6);
  f[12] = 0x08;
  const ipLen = FRAME_LEN - 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 255, 0, 0, 0x40, 0, 64, 17, 0, 0], 14);
  const dv = new DataView(f.buffer);
  dv.setUint32(26, (0x0b000000 + i) >>> 0);
  dv.setUint32(30, 0x0a000002);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += dv.getUint16(k);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  dv.setUint16(24, ~sum & 0xffff);
  dv.setUint16(34, 1000);
  dv.setUint16(36, 53);
  dv.setUint16(38, ipLen - 20);
  return f;
}

/** Warm-up frames per input port (see the module comment). */
let warmup = 10000;

interface RunResult {
  setupsPerS: number;
  /** Flow setups per CPU-second the whole process used (PMD, handlers, main thread...). */
  perCpuS: number;
  installed: number;
  forwarded: number;
  p50Us: number;
  p99Us: number;
  cpuShare: number;
  lost: number;
}

let tmp = '';

async function runOnce(nHandlers: number, nFlows: number, normal: boolean): Promise<RunResult> {
  const half = Math.floor(nFlows / 2);
  const pcaps = [1, 2].map((tag) => {
    const p = join(tmp, `a${tag}.pcap`);
    const w = new PcapWriter(p, { append: false });
    for (let i = 0; i < warmup + half; i++) w.write(frame(tag, i), 0, 0);
    w.close();
    return p;
  });
  const dp = await Datapath.open({
    name: 'bench0', nPmds: 1, maxPmds: 2, maxSleepMs: 20, pool: { nBufs: 2 * nFlows + 16384 },
    upcallQueueSize: 1 << Math.ceil(Math.log2(half + 1024)), flowTable: { capacity: nFlows + 2 * warmup + 4096 },
  });
  let ofp: Ofproto | null = null;
  try {
    ofp = await Ofproto.open(dp, {
      handlers: nHandlers, revalidators: 1, revalidatorTimer: false, tunables: { 'flow-limit': 4 * nFlows },
      ...(normal ? { tunables: { 'flow-limit': 4 * nFlows, 'mac-table-size': 1_000_000 }, fdbCapacity: 2 * nFlows + 16 } : {}),
    });
    ofp.setFlowLimit(4 * nFlows);
    const a1 = (await ofp.addPort({ name: 'A1', type: 'memory', options: { gen_pcap: pcaps[0]!, rxq_size: '4096' } })).odpPort;
    const a2 = (await ofp.addPort({ name: 'A2', type: 'memory', options: { gen_pcap: pcaps[1]!, rxq_size: '4096' } })).odpPort;
    const x = (await ofp.addPort({ name: 'X', type: 'memory' })).odpPort;
    if (normal) {
      for (const n of ['Y', 'Z']) await ofp.addPort({ name: n, type: 'memory' });
      ofp.addFlow('actions=NORMAL');
    } else {
      ofp.addFlows(['priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop', 'priority=10,in_port=A1,actions=output:X', 'priority=10,in_port=A2,actions=output:X']);
    }
    await ofp.syncHandlers();
    if (nHandlers === 2 && new Set([ofp.handlerAssignment().get(a1), ofp.handlerAssignment().get(a2)]).size !== 2) {
      throw new Error('the two input ports are not on two handlers');
    }
    const tx = dp.netdev(x);
    if (warmup > 0) {
      (dp.netdev(a1) as MemoryNetdev).generate(warmup);
      (dp.netdev(a2) as MemoryNetdev).generate(warmup);
      const until = performance.now() + 120_000;
      while (tx.stats().tx_packets < 2 * warmup && performance.now() < until) await sleep(1);
      await sleep(20);
    }
    const tx0 = tx.stats().tx_packets, flows0 = dp.stats().flows;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    (dp.netdev(a1) as MemoryNetdev).generate(half);
    (dp.netdev(a2) as MemoryNetdev).generate(half);
    const deadline = t0 + 120_000;
    while (tx.stats().tx_packets - tx0 < 2 * half && performance.now() < deadline) await sleep(1);
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const forwarded = tx.stats().tx_packets - tx0;
    const st = ofp.handlerStats();
    let p50 = 0, p99 = 0;
    if (st.handlers.length > 0) {
      p50 = Math.max(...st.handlers.map((h) => h.latency.p50Us));
      p99 = Math.max(...st.handlers.map((h) => h.latency.p99Us));
    }
    return {
      setupsPerS: Math.round(forwarded / ((t1 - t0) / 1000)), installed: dp.stats().flows - flows0, forwarded,
      perCpuS: Math.round(forwarded / ((cpu.user + cpu.system) / 1e6)),
      p50Us: Math.round(p50), p99Us: Math.round(p99), cpuShare: Number(((cpu.user + cpu.system) / 1000 / (t1 - t0)).toFixed(2)),
      lost: dp.totals().lost,
    };
  } finally {
    await ofp?.close();
    await dp.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const arg = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const nFlows = arg('flows', 40000);
  const reps = arg('reps', 3);
  warmup = arg('warmup', 10000);
  tmp = mkdtempSync(join(tmpdir(), 'tsvs-bench-upcall-'));
  const out: Record<string, unknown> = { flows: nFlows, reps, warmup, load_avg_1m_start: Number(loadavg()[0]!.toFixed(2)) };
  try {
    for (const [key, nh, normal] of [['1_handler', 1, false], ['2_handlers', 2, false], ['normal_1_handler', 1, true]] as const) {
      const runs: RunResult[] = [];
      for (let r = 0; r < reps; r++) {
        const res = await runOnce(nh, nFlows, normal);
        process.stderr.write(`upcall ${key} run ${r + 1}: ${res.setupsPerS}/s (${res.perCpuS} per CPU-second), installed ${res.installed}, forwarded ${res.forwarded}, cpu ${res.cpuShare}, load ${loadavg()[0]!.toFixed(1)}\n`);
        runs.push(res);
      }
      const name = normal ? 'normal_flow_setups_per_s_1_handler' : `flow_setups_per_s_${key}`;
      out[name] = median(runs.map((r) => r.setupsPerS));
      out[`${name}_runs`] = runs.map((r) => r.setupsPerS);
      out[`${name}_per_cpu_s`] = median(runs.map((r) => r.perCpuS));
      out[`${key}_installed`] = median(runs.map((r) => r.installed));
      out[`cpu_share_${key}`] = median(runs.map((r) => r.cpuShare));
      out[`lost_${key}`] = Math.max(...runs.map((r) => r.lost));
      if (key === '1_handler') {
        out['handler_latency_us_p50'] = median(runs.map((r) => r.p50Us));
        out['handler_latency_us_p99'] = median(runs.map((r) => r.p99Us));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  out['load_avg_1m_end'] = Number(loadavg()[0]!.toFixed(2));
  return out;
}
