/**
 * `pnpm bench fastpath [--json] [--secs S] [--only a,b]`: the userspace datapath's fast path.
 *
 * Every scenario runs a real Datapath (PMD worker threads) between two memory ports: p1 generates
 * 64-byte UDP frames from templates at full speed (generator mode: the PMD's rx burst fills
 * buffers from the templates), the flows send them to p2, which counts and frees what it sends.
 * Throughput is PMD "packets received" over a measured window after a warm-up.
 *
 * Figures (Mpps = million packets per second of one run; compare only within a run). The
 * machines are shared and loaded: each throughput also comes as `*_per_cpu`, packets per
 * CPU-second the process used in the window (the PMDs, plus a clock thread and an idle main
 * thread), i.e. what a PMD does with a CPU to itself; `*_cpu_share` is how many CPUs it got.
 *   emc_mpps_1_flow, emc_mpps_1000_flows   1 PMD, EMC hits (emc-insert-inv-prob 1)
 *   baseline_mpps                          same 1000-flow run, EMC replaced by a JS Map keyed by
 *                                          the packed key (PmdLookupMode 'map')
 *   megaflow_mpps_{1,10,100}_subtables     1 PMD, EMC off, 100k flows spread over the subtables
 *   pmd1_mpps_2rxq, pmd2_mpps              2 rxqs on 1 PMD vs 1 rxq on each of 2 PMDs (EMC, 1 flow)
 *   bytes_per_flow                         flow table bytes per flow at default sizing (200000 flows, 4 PMDs)
 *   allocated_bytes_per_packet             1000-flow EMC run, after 8 s of traffic: growth of the
 *                                          PMD isolate's used heap over a window of millions of
 *                                          packets without GC, minus what a probe itself allocates,
 *                                          per packet; the smallest of 3 windows (a per-packet
 *                                          allocation shows in all, a late JIT recompilation in one;
 *                                          heap_check_*: raw growth, probe cost, every window)
 *   idle_cpu_percent                       process CPU over 2 s with 2 idle PMDs, % of one CPU
 *   wake_latency_us                        median inject → transmitted with a sleeping PMD (p99 too)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PcapWriter } from '@tsvs/capture';
import {
  Datapath, computeLayout, flowTableParams, parseOdpActions, type PmdLookupMode,
} from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import {
  FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW_DST, W_NW_SRC, W_TP, extractFlow,
} from '@tsvs/packet';

const FRAME_LEN = 64;

/** A 64-byte Ethernet/IPv4/UDP frame (valid IP checksum; UDP checksum 0). */
function udpFrame(src: number, dst: number, sport: number, dport: number): Uint8Array {
  const f = new Uint8Array(FRAME_LEN);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
  const ipLen = FRAME_LEN - 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 255, 0, 0, 0x40, 0, 64, 17, 0, 0], 14);
  const dv = new DataView(f.buffer);
  dv.setUint32(26, src >>> 0);
  dv.setUint32(30, dst >>> 0);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += dv.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  dv.setUint16(24, ~sum & 0xffff);
  dv.setUint16(34, sport);
  dv.setUint16(36, dport);
  dv.setUint16(38, ipLen - 20);
  return f;
}

interface Scenario {
  nPmds: number;
  nRxq: number;
  emcInvProb: number;
  capacity: number;
  templates: Uint8Array[];
  /** Installs flows; `p1`/`p2` are the port numbers. Returns the number of flows. */
  install(dp: Datapath, p1: number, p2: number): number;
  lookup?: PmdLookupMode;
  heapCheck?: boolean;
}

interface ScenarioResult {
  mpps: number;
  /** Packets per CPU-second of the whole process (PMDs, clock thread, idle main thread): what a PMD does with a CPU to itself. */
  mppsPerCpu: number;
  /** CPUs the process used during the window (1.0 = one whole CPU). */
  cpuShare: number;
  packets: number;
  lookupsPerHit: number;
  allocatedBytesPerPacket?: number;
  heapPackets?: number;
  heapGrowth?: number;
  probeBytes?: number;
  gcsInWindow?: number;
  heapWindows?: number[];
}

let tmp = '';
let warmMs = 1000;
let measureMs = 2000;

async function runScenario(name: string, s: Scenario): Promise<ScenarioResult> {
  const pcap = join(tmp, `${name}.pcap`);
  const w = new PcapWriter(pcap, { append: false });
  for (const t of s.templates) w.write(t, 0, 0);
  w.close();
  const dp = await Datapath.open({
    name: 'bench0', nPmds: s.nPmds, maxPmds: 4, pool: { nBufs: 8192 },
    flowTable: { capacity: s.capacity, emcInsertInvProb: s.emcInvProb, maxSubtables: 512 },
  });
  try {
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory', options: { n_rxq: String(s.nRxq), gen_pcap: pcap } });
    const p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { n_txq: String(s.nPmds) } });
    const nFlows = s.install(dp, p1, p2);
    if (dp.table.flowCount !== nFlows) throw new Error(`${name}: ${dp.table.flowCount} flows installed, wanted ${nFlows}`);
    if (s.lookup) await dp.setPmdLookup(s.lookup);
    const gen = dp.netdev(p1) as MemoryNetdev;
    gen.generate(Infinity);
    for (let q = 0; q < s.nRxq; q++) gen.inject(s.templates[0]!, q); // rings the doorbells of sleeping PMDs
    await sleep(warmMs);
    const t0 = dp.totals(), ms0 = performance.now(), cpu0 = process.cpuUsage();
    await sleep(measureMs);
    const t1 = dp.totals(), ms1 = performance.now(), cpu = process.cpuUsage(cpu0);
    const packets = t1.recv - t0.recv;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const res: ScenarioResult = {
      mpps: packets / (ms1 - ms0) / 1000,
      mppsPerCpu: packets / cpuMs / 1000,
      cpuShare: cpuMs / (ms1 - ms0),
      packets,
      lookupsPerHit: t1.masked_hit > t0.masked_hit ? (t1.masked_lookup - t0.masked_lookup) / (t1.masked_hit - t0.masked_hit) : 0,
    };
    if (s.heapCheck) {
      // The PMD isolate's used heap (v8 used_heap_size) around a window of millions of packets,
      // once the JIT has settled (8 s of traffic: branches first taken after a second or five
      // deoptimize the loop once, and interpreted code boxes doubles). Two probes back to back
      // measure what a probe itself allocates (the PMD yields to its event loop to answer); that
      // is subtracted. A GC in the window hides allocations: such windows are retried.
      await sleep(Math.max(0, 8000 - warmMs - measureMs));
      res.gcsInWindow = 0;
      const windows: Array<{ perPacket: number; growth: number; probe: number; packets: number }> = [];
      for (let attempt = 0; attempt < 6 && windows.length < 3; attempt++) {
        const pA = await dp.probe(0);
        const pB = await dp.probe(0);
        const h0 = dp.totals().recv;
        await sleep(measureMs);
        const pC = await dp.probe(0);
        if (pC.gcCount !== pA.gcCount) {
          res.gcsInWindow += pC.gcCount - pA.gcCount;
          continue;
        }
        const packets = dp.totals().recv - h0;
        const growth = pC.usedHeap - pB.usedHeap, probe = pB.usedHeap - pA.usedHeap;
        windows.push({ perPacket: Math.max(0, growth - probe) / packets, growth, probe, packets });
      }
      // An allocation per packet shows in every window; JIT work (a late recompilation) in some.
      windows.sort((x, y) => x.perPacket - y.perPacket);
      if (windows.length > 0) {
        const w = windows[0]!;
        res.allocatedBytesPerPacket = w.perPacket;
        res.heapPackets = w.packets;
        res.heapGrowth = w.growth;
        res.probeBytes = w.probe;
        res.heapWindows = windows.map((x) => Math.round(x.perPacket * 1e4) / 1e4);
      }
    }
    gen.stopGenerator();
    const c = dp.totals();
    if (c.miss + c.lost > nFlows) process.stderr.write(`${name}: ${c.miss + c.lost} misses (expected none after setup)\n`);
    return res;
  } finally {
    await dp.close();
  }
}

/** Key + mask words for a flow matching in_port, dl_type IPv4 and the given words. */
function ipv4Match(inPort: number, fields: Array<[number, number, number]>): { key: Uint32Array; mask: Uint32Array } {
  const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
  key[W_IN_PORT] = inPort;
  mask[W_IN_PORT] = 0xffffffff;
  key[W_DL_TYPE] = 0x0800;
  mask[W_DL_TYPE] = 0xffff;
  for (const [w, v, m] of fields) {
    key[w] = (v & m) >>> 0;
    mask[w] = m >>> 0;
  }
  return { key, mask };
}

function put(dp: Datapath, key: Uint32Array, mask: Uint32Array, actions: Uint8Array): void {
  const r = dp.flowPut({ flags: 1, key, mask, actions });
  if (r.error !== 0) throw new Error(`flow put failed: ${r.error}`);
}

const SPORT = 1000, DPORT = 53;
const TP = ((SPORT << 16) | DPORT) >>> 0;

/** `n` templates to n flows, each exact on nw_dst (one subtable). */
function exactFlows(n: number): Pick<Scenario, 'templates' | 'install'> {
  const dsts = Array.from({ length: n }, (_, i) => (0x14000000 + i) >>> 0);
  return {
    templates: dsts.map((d) => udpFrame(0x0a000001, d, SPORT, DPORT)),
    install(dp, p1, p2) {
      const actions = parseOdpActions(String(p2));
      for (const d of dsts) {
        const { key, mask } = ipv4Match(p1, [[W_NW_DST, d, 0xffffffff]]);
        put(dp, key, mask, actions);
      }
      return n;
    },
  };
}

/**
 * `total` flows over `nSub` subtables (distinct masks: nw_src /24 + nw_dst exact + a per-subtable
 * bit pattern over the UDP ports; each subtable has its own nw_src /24, so megaflows do not
 * overlap), and `nTemplates` frames spread over the subtables, each hitting one installed flow.
 */
function subtableFlows(nSub: number, total: number, nTemplates: number): Pick<Scenario, 'templates' | 'install'> {
  const per = Math.floor(total / nSub);
  const src = (s: number): number => (0x0a000000 | ((s & 0xffff) << 8)) >>> 0;
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const templates: Uint8Array[] = [];
  for (let t = 0; t < nTemplates; t++) {
    const s = t % nSub;
    templates.push(udpFrame(src(s) | 1, (0x14000000 + rnd(per)) >>> 0, SPORT, DPORT));
  }
  return {
    templates,
    install(dp, p1, p2) {
      const actions = parseOdpActions(String(p2));
      for (let s = 0; s < nSub; s++) {
        const tpMask = s + 1;
        for (let j = 0; j < per; j++) {
          const { key, mask } = ipv4Match(p1, [[W_NW_SRC, src(s), 0xffffff00], [W_NW_DST, 0x14000000 + j, 0xffffffff], [W_TP, TP, tpMask]]);
          put(dp, key, mask, actions);
        }
      }
      return per * nSub;
    },
  };
}

async function idleCpu(): Promise<number> {
  const dp = await Datapath.open({ name: 'idle0', nPmds: 2, pool: { nBufs: 2048 }, flowTable: { capacity: 1024 } });
  try {
    await dp.portAdd({ name: 'p1', type: 'memory', options: { n_rxq: '2' } });
    await dp.portAdd({ name: 'p2', type: 'memory' });
    await sleep(1000);
    const c0 = process.cpuUsage(), t0 = performance.now();
    await sleep(2000);
    const c = process.cpuUsage(c0), t = performance.now() - t0;
    return ((c.user + c.system) / 1000 / t) * 100;
  } finally {
    await dp.close();
  }
}

async function wakeLatency(): Promise<{ median: number; p99: number }> {
  const dp = await Datapath.open({ name: 'wake0', nPmds: 1, pool: { nBufs: 2048 }, flowTable: { capacity: 1024 } });
  try {
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory' });
    const p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { tx_ring: 'true' } });
    const frame = udpFrame(0x0a000001, 0x14000001, SPORT, DPORT);
    const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
    extractFlow(frame, 0, frame.length, p1, key, 0);
    mask[W_IN_PORT] = 0xffffffff;
    put(dp, key, mask, parseOdpActions(String(p2)));
    const rx = dp.netdev(p1) as MemoryNetdev, tx = dp.netdev(p2) as MemoryNetdev;
    const ids = new Uint32Array(1);
    const lat: number[] = [];
    for (let i = 0; i < 220; i++) {
      await sleep(3); // the PMD has been idle far longer than its spin: it sleeps
      const t0 = performance.now();
      rx.inject(frame);
      while (tx.txDrain(0, ids, 1) === 0) {
        if (performance.now() - t0 > 1000) throw new Error('wake latency: frame not forwarded within 1 s');
      }
      const t1 = performance.now();
      dp.pool.free(ids[0]!);
      if (i >= 20) lat.push((t1 - t0) * 1000);
    }
    lat.sort((a, b) => a - b);
    return { median: lat[Math.floor(lat.length / 2)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
  } finally {
    await dp.close();
  }
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const secsAt = args.indexOf('--secs');
  if (secsAt >= 0) measureMs = Number(args[secsAt + 1]) * 1000;
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]!.split(',')) : null;
  const want = (k: string): boolean => !only || only.has(k);
  warmMs = Math.max(500, Math.min(1500, measureMs / 2));
  tmp = mkdtempSync(join(tmpdir(), 'tsvs-bench-fastpath-'));
  const out: Record<string, unknown> = {};
  const note = (s: string): void => void process.stderr.write(`fastpath: ${s}\n`);
  try {
    const base = { nPmds: 1, nRxq: 1 };
    if (want('emc')) {
      note('EMC, 1 flow');
      const a = await runScenario('emc1', { ...base, emcInvProb: 1, capacity: 4096, ...exactFlows(1) });
      out.emc_mpps_1_flow = r2(a.mpps);
      out.emc_mpps_per_cpu_1_flow = r2(a.mppsPerCpu);
      out.emc_cpu_share_1_flow = r2(a.cpuShare);
      note('EMC, 1000 flows (with heap check)');
      const b = await runScenario('emc1000', { ...base, emcInvProb: 1, capacity: 4096, ...exactFlows(1000), heapCheck: true });
      out.emc_mpps_1000_flows = r2(b.mpps);
      out.emc_mpps_per_cpu_1000_flows = r2(b.mppsPerCpu);
      // Two decimals: one allocation per packet would be >= 16; the rest is measurement noise
      // (heap_check_growth_bytes is the raw figure).
      out.allocated_bytes_per_packet = b.allocatedBytesPerPacket !== undefined ? r2(b.allocatedBytesPerPacket) : null;
      out.heap_check_packets = b.heapPackets;
      out.heap_check_growth_bytes = b.heapGrowth;
      out.heap_check_probe_bytes = b.probeBytes;
      out.heap_check_gcs_skipped = b.gcsInWindow;
      out.heap_check_windows_bytes_per_packet = b.heapWindows;
      note('baseline: JS Map keyed by the packed key, 1000 flows');
      const c = await runScenario('baseline', { ...base, emcInvProb: 1, capacity: 4096, ...exactFlows(1000), lookup: 'map' });
      out.baseline_mpps = r2(c.mpps);
      out.baseline_mpps_per_cpu = r2(c.mppsPerCpu);
    }
    if (want('megaflow')) {
      for (const n of [1, 10, 100]) {
        note(`megaflow, EMC off, ${n} subtable(s), 100k flows`);
        const m = await runScenario(`mf${n}`, { ...base, emcInvProb: 0, capacity: 131072, ...subtableFlows(n, 100000, 4096) });
        out[`megaflow_mpps_${n}_subtable${n === 1 ? '' : 's'}`] = r2(m.mpps);
        out[`megaflow_mpps_per_cpu_${n}_subtable${n === 1 ? '' : 's'}`] = r2(m.mppsPerCpu);
        out[`megaflow_lookups_per_hit_${n}`] = r2(m.lookupsPerHit);
      }
    }
    if (want('pmd2')) {
      note('1 PMD with 2 rxqs');
      const a = await runScenario('pmd1', { nPmds: 1, nRxq: 2, emcInvProb: 1, capacity: 4096, ...exactFlows(1) });
      out.pmd1_mpps_2rxq = r2(a.mpps);
      out.pmd1_cpu_share = r2(a.cpuShare);
      note('2 PMDs, 1 rxq each');
      const b = await runScenario('pmd2', { nPmds: 2, nRxq: 2, emcInvProb: 1, capacity: 4096, ...exactFlows(1) });
      out.pmd2_mpps = r2(b.mpps);
      out.pmd2_cpu_share = r2(b.cpuShare);
      out.pmd2_mpps_per_cpu = r2(b.mppsPerCpu);
    }
    out.bytes_per_flow = Math.round(computeLayout(flowTableParams({ maxPmds: 4 })).totalBytes / 200000);
    if (want('idle')) {
      note('idle CPU, 2 PMDs');
      out.idle_cpu_percent = r2(await idleCpu());
      note('wake latency');
      const w = await wakeLatency();
      out.wake_latency_us = r2(w.median);
      out.wake_latency_p99_us = r2(w.p99);
    }
    out.frame_bytes = FRAME_LEN;
    out.measure_secs = measureMs / 1000;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
