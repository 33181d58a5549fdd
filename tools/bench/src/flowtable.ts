/**
 * `pnpm bench flowtable [--json] [--lookups N]`: the shared flow table's PMD lookup path on one core.
 *
 * Figures (one flat object; rates in million lookups per second, best of 3 rounds after a warm-up,
 * lookups in bursts of 32 with a quiescent point per burst as a PMD loop does):
 * - emc_mlookups_1_flow / emc_mlookups_1000_flows: EMC hits (emc-insert-inv-prob 1, EMC warmed up).
 * - megaflow_mlookups_{1,10,100}_subtables: dpcls hits with the EMC off (emc-insert-inv-prob 0),
 *   100000 flows spread evenly over 1, 10 or 100 masks, keys visited in a scattered order (uniform
 *   traffic, so ranking cannot help: on average half the subtables are searched).
 * Keys are written per burst into a hot 32-key buffer (3 words per key), as flow extraction would;
 * that work is in every figure, the baseline's included.
 * - avg_subtables_per_hit_{10,100}: subtables searched per megaflow hit in those runs.
 * - emc_batch_* / megaflow_batch_*: the same through `lookupBatch` (one call per burst of 32; the
 *   dpcls pass hashes all keys for a subtable, then probes them, as OVS dpcls_lookup does).
 * - baseline_map_mlookups_1000_flows / _100000_flows: a JS Map keyed by the whole key packed into a
 *   string (exact match, what a naive cache would do), same keys, same run.
 * - put_create_kops / del_batch50_kops: writer operations per ms (thousands per second), one thread,
 *   no other PMD online (so deletes wait for no grace period): 100000 creates, then 100000 deletes
 *   through operate() in batches of 50.
 * - bytes_per_flow: shared memory per flow at the default sizing (200000 flows, 4 PMDs, 256-byte
 *   action slots), and bytes_per_flow_1_pmd; emc_bytes_per_pmd: the EMC's private memory.
 * - allocated_bytes_per_lookup_{emc,megaflow,batch}: V8 heap growth over 10 M lookups (--lookups) divided
 *   by the lookups, after a warm-up run, smallest of 3 runs, with no GC during the run
 *   (gc_during_measure counts them; a minor GC would hide garbage, so then the figure is a lower
 *   bound). ~0 (a few hundred bytes of heap noise over 10 M) means the lookup path allocates nothing.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DPIF_FP_CREATE, EMC_ENTRIES, EMC_WORDS, FlowTable, computeLayout, flowTableParams, type FlowTablePmd } from '@tsvs/dpif';
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC, W_TP } from '@tsvs/packet';

const BURST = 32;

/** Mask of subtable s (s < 100): in_port, dl_type, nw_dst exact; nw_src prefix 8..32; a tp variant. */
function maskFor(s: number): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  m[W_DL_TYPE] = 0xffff;
  m[W_NW_DST] = 0xffffffff;
  const prefix = 8 + (s % 25);
  m[W_NW_SRC] = prefix === 32 ? 0xffffffff : (~(0xffffffff >>> prefix)) >>> 0;
  m[W_TP] = [0, 0xffff, 0xffff0000, 0xffffffff][Math.floor(s / 25) % 4]!;
  return m;
}

interface Setup { table: FlowTable; pmd: FlowTablePmd; order: Uint32Array; nFlows: number; burst: Uint32Array; out: Int32Array }

/** Per-flow pseudo-random word (nw_src, tp): recomputed per packet instead of stored. */
function mix(x: number, salt: number): number {
  let h = Math.imul(x ^ salt, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Writes the packet key of flow `i` at `base` (words a frame of that flow would give). */
function writeKey(k: Uint32Array, base: number, i: number): void {
  k[base + W_NW_SRC] = mix(i, 0x1234);
  k[base + W_NW_DST] = (0x0a000000 + i) >>> 0;
  k[base + W_TP] = mix(i, 0x5678);
}

function keyTemplate(k: Uint32Array, base: number): void {
  k[base + W_IN_PORT] = 1;
  k[base + W_DL_TYPE] = 0x0800;
  k[base + W_NW] = 0x06004000;
}

/** A table with `nFlows` flows spread over `nSub` masks. */
function setup(nFlows: number, nSub: number, emcInvProb: number): Setup {
  const table = FlowTable.create({ capacity: Math.max(1024, nFlows), maxPmds: 1, emcInsertInvProb: emcInvProb });
  const masks = Array.from({ length: nSub }, (_, s) => maskFor(s));
  const actions = Uint8Array.of(1, 1, 0, 8, 0, 6, 1, 6, 0, 0, 0, 2);
  const key = new Uint32Array(FLOW_WORDS);
  keyTemplate(key, 0);
  for (let i = 0; i < nFlows; i++) {
    writeKey(key, 0, i);
    const r = table.put({ flags: DPIF_FP_CREATE, key, mask: masks[i % nSub]!, actions });
    if (r.error !== 0) throw new Error(`bench setup: put ${i}: ${r.error}`);
  }
  // A scattered visiting order (multiplicative stride), the same for every round.
  const order = new Uint32Array(1 << 16);
  for (let i = 0; i < order.length; i++) order[i] = (i * 40503) % nFlows;
  const burst = new Uint32Array(BURST * FLOW_WORDS);
  for (let j = 0; j < BURST; j++) keyTemplate(burst, j * FLOW_WORDS);
  return { table, pmd: table.openPmd(0), order, nFlows, burst, out: new Int32Array(BURST) };
}

/**
 * `n` lookups as a PMD does them: per burst of 32, the keys are written into a hot key buffer (as
 * extraction would), looked up, then a quiescent point. Returns the sum of entries (keeps the work alive).
 */
function lookups(s: Setup, n: number): number {
  const { pmd, order, burst } = s;
  const om = order.length - 1;
  let acc = 0;
  for (let i = 0; i < n; i += BURST) {
    for (let j = 0; j < BURST; j++) writeKey(burst, j * FLOW_WORDS, order[(i + j) & om]!);
    for (let j = 0; j < BURST; j++) acc += pmd.lookup(burst, j * FLOW_WORDS);
    pmd.quiesce();
  }
  return acc;
}

/** As `lookups`, through `lookupBatch` (one call per burst: EMC, then one batched dpcls pass). */
function lookupsBatch(s: Setup, n: number): number {
  const { pmd, order, burst, out } = s;
  const om = order.length - 1;
  let acc = 0;
  for (let i = 0; i < n; i += BURST) {
    for (let j = 0; j < BURST; j++) writeKey(burst, j * FLOW_WORDS, order[(i + j) & om]!);
    acc += pmd.lookupBatch(burst, 0, BURST, out);
    pmd.quiesce();
  }
  return acc;
}

function rate(fn: (n: number) => number, n: number): number {
  fn(n >>> 2);
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    fn(n);
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.max(best, n / ns * 1e3);
  }
  return Math.round(best * 100) / 100;
}

/** The baseline: Map<string, entry> keyed by the whole key packed as a string; same key buffer work. */
function mapBaseline(s: Setup, n: number): number {
  const map = new Map<string, number>();
  const pack = (k: Uint32Array, b: number): string => {
    let str = '';
    for (let i = 0; i < FLOW_WORDS; i++) str += String.fromCharCode(k[b + i]! >>> 16, k[b + i]! & 0xffff);
    return str;
  };
  const key = new Uint32Array(FLOW_WORDS);
  keyTemplate(key, 0);
  for (let i = 0; i < s.nFlows; i++) {
    writeKey(key, 0, i);
    map.set(pack(key, 0), i);
  }
  const { order, burst } = s;
  const om = order.length - 1;
  return rate((m) => {
    let acc = 0;
    for (let i = 0; i < m; i += BURST) {
      for (let j = 0; j < BURST; j++) writeKey(burst, j * FLOW_WORDS, order[(i + j) & om]!);
      for (let j = 0; j < BURST; j++) acc += map.get(pack(burst, j * FLOW_WORDS)) ?? -1;
    }
    return acc;
  }, n);
}

async function allocatedPerLookup(s: Setup, n: number, gc: () => void, fn = lookups): Promise<{ bytes: number; gcs: number }> {
  // Warm up with a full run (the optimizing compiler's tier-ups allocate feedback and code objects
  // on the heap for a while), then take the smallest of 3 measured runs: the steady state.
  fn(s, n);
  let best = { bytes: Infinity, gcs: 0 };
  for (let r = 0; r < 3; r++) {
    const m = await measureOnce(s, n, gc, fn);
    if (m.bytes < best.bytes) best = m;
  }
  return best;
}

async function measureOnce(s: Setup, n: number, gc: () => void, fn: (s: Setup, n: number) => number): Promise<{ bytes: number; gcs: number }> {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  gc();
  await new Promise((r) => setImmediate(r));
  obs.observe({ entryTypes: ['gc'] });
  const h0 = process.memoryUsage().heapUsed;
  fn(s, n);
  const h1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return { bytes: Math.max(0, h1 - h0) / n, gcs };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const li = args.indexOf('--lookups');
  const allocN = li >= 0 ? Number(args[li + 1]) : 10_000_000;
  const N = 2_000_000;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const out: Record<string, unknown> = {};
  const note = (m: string): boolean => process.stderr.write(`flowtable: ${m}\n`);

  note('EMC hits');
  for (const nFlows of [1, 1000]) {
    const s = setup(nFlows, 1, 1);
    lookups(s, 4 * nFlows + 1000); // warm the EMC (insertion probability 1)
    const name = nFlows === 1 ? '1_flow' : `${nFlows}_flows`;
    out[`emc_mlookups_${name}`] = rate((n) => lookups(s, n), N);
    out[`emc_batch_mlookups_${name}`] = rate((n) => lookupsBatch(s, n), N);
    if (nFlows === 1000) {
      out.baseline_map_mlookups_1000_flows = mapBaseline(s, N);
      const a = await allocatedPerLookup(s, allocN, gc);
      out.allocated_bytes_per_lookup_emc = a.bytes;
      out.gc_during_measure_emc = a.gcs;
    }
    s.pmd.close();
  }
  for (const nSub of [1, 10, 100]) {
    note(`megaflow hits, ${nSub} subtables, 100000 flows`);
    const t0 = performance.now();
    const s = setup(100000, nSub, 0);
    if (nSub === 1) out.put_create_kops = Math.round(100000 / (performance.now() - t0));
    const name = `${nSub}_subtable${nSub === 1 ? '' : 's'}`;
    out[`megaflow_mlookups_${name}`] = rate((n) => lookups(s, n), nSub === 100 ? N / 4 : N);
    out[`megaflow_batch_mlookups_${name}`] = rate((n) => lookupsBatch(s, n), nSub === 100 ? N / 4 : N);
    let searched = 0;
    for (let i = 0; i < 4096; i++) {
      writeKey(s.burst, 0, s.order[i]!);
      if (s.pmd.lookup(s.burst, 0) < 0) throw new Error('bench: megaflow miss');
      searched += s.pmd.lastSubtables;
    }
    if (nSub > 1) out[`avg_subtables_per_hit_${nSub}`] = Math.round(searched / 4096 * 10) / 10;
    if (nSub === 10) {
      const a = await allocatedPerLookup(s, allocN, gc);
      out.allocated_bytes_per_lookup_megaflow = a.bytes;
      out.gc_during_measure_megaflow = a.gcs;
      const b = await allocatedPerLookup(s, allocN, gc, lookupsBatch);
      out.allocated_bytes_per_lookup_batch = b.bytes;
      out.gc_during_measure_batch = b.gcs;
    }
    if (nSub === 1) {
      out.baseline_map_mlookups_100000_flows = mapBaseline(s, N);
      // Writer side: delete every flow through operate() in batches of 50 (as revalidators do).
      const ufids: Uint32Array[] = [];
      for (const d = s.table.dump({ terse: true }); !d.done;) for (const f of d.next(1000)) ufids.push(f.ufid);
      const t1 = performance.now();
      for (let i = 0; i < ufids.length; i += 50) s.table.operate(ufids.slice(i, i + 50).map((ufid) => ({ type: 'del' as const, ufid })));
      out.del_batch50_kops = Math.round(ufids.length / (performance.now() - t1));
    }
    s.pmd.close();
  }
  out.bytes_per_flow = Math.round(computeLayout(flowTableParams()).totalBytes / 200000);
  out.bytes_per_flow_1_pmd = Math.round(computeLayout(flowTableParams({ maxPmds: 1 })).totalBytes / 200000);
  out.emc_bytes_per_pmd = EMC_ENTRIES * EMC_WORDS * 4;
  out.lookups_per_alloc_measure = allocN;
  return out;
}
