/**
 * `pnpm bench classifier [--json] [--ms N]`: OpenFlow classifier lookups (packages/ofproto
 * Classifier, tuple space search with staged lookup and nw_src/nw_dst prefix tries) against a
 * linear scan of the same rules, in the same run, on one core.
 *
 * Rule sets: R rules (10, 1000, 10000) spread evenly over M distinct masks (10 or 100; 10 rules
 * can only use 10 masks). Masks combine nw_src and nw_dst prefixes (0, 8, 16, 24, 32 bits) with an
 * L4 part (none; nw_proto; nw_proto + tp_dst; nw_proto + tp_dst + tp_src), on dl_type=IPv4.
 * Values are pseudo-random (fixed seed); a rule's priority is 64 x its mask's bit count plus a
 * random 0..63, so more specific rules win, as in ACLs and routing tables. Flows: 8192 keys, half built from a rule
 * (so they hit it or a higher-priority overlapping rule), half random (mostly misses).
 *
 * Figures (lookups per second, best of 3 rounds of --ms milliseconds, default 200):
 * - cls_wc_lookups_per_s_rR_mM: Classifier.lookup with a wildcard mask to fill (as translation
 *   does; the mask is cleared before each lookup).
 * - cls_lookups_per_s_rR_mM: Classifier.lookup without wildcards.
 * - linear_lookups_per_s_rR_mM: rules sorted by priority, first match wins (early exit); each
 *   rule compares only the words its mask uses.
 * - speedup_rR_mM: cls_wc / linear. subtables_rR_mM: distinct masks. avg_wc_words_rR_mM: mask
 *   words un-wildcarded per lookup (how narrow the megaflows are).
 * - allocated_bytes_per_lookup_wc_rR_mM (1000 rules): V8 heap growth over 1 M lookups with
 *   wildcards divided by the lookups (second of two runs, after a GC; gc_during_alloc_measure counts
 *   GCs during it, which would make the figure a lower bound). 0 means lookups allocate nothing.
 * Results of all three are checked to agree (same priority) on every flow before timing.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Classifier } from '@tsvs/ofproto';
import { FLOW_WORDS, W_DL_TYPE, W_NW, W_NW_DST, W_NW_SRC, W_TP } from '@tsvs/packet';

const N_FLOWS = 8192;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const PREFIXES = [0, 8, 16, 24, 32];

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
const pfx = (n: number): number => (n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0);

/** Mask number i (0..99): nw_src prefix, nw_dst prefix, L4 part. */
function maskFor(i: number): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_DL_TYPE] = 0xffff;
  m[W_NW_SRC] = pfx(PREFIXES[i % 5]!);
  m[W_NW_DST] = pfx(PREFIXES[Math.floor(i / 5) % 5]!);
  const l4 = Math.floor(i / 25) % 4;
  if (l4 >= 1) m[W_NW] = 0xff000000;
  if (l4 >= 2) m[W_TP] = 0x0000ffff;
  if (l4 >= 3) m[W_TP] = 0xffffffff;
  return m;
}

interface RuleSet {
  keys: Uint32Array[];
  masks: Uint32Array[];
  prios: number[];
}

function makeRules(nRules: number, nMasks: number, rand: () => number): RuleSet {
  const masks: Uint32Array[] = [];
  const step = 100 / nMasks;
  const maskSet = Array.from({ length: nMasks }, (_, i) => maskFor(Math.floor(i * step)));
  const keys: Uint32Array[] = [];
  const prios: number[] = [];
  for (let r = 0; r < nRules; r++) {
    const m = maskSet[r % nMasks]!;
    const k = new Uint32Array(FLOW_WORDS);
    k[W_DL_TYPE] = 0x0800;
    k[W_NW_SRC] = (0x0a000000 | (rand() & 0x00ffffff)) >>> 0;
    k[W_NW_DST] = (0xc0a80000 | (rand() & 0x0000ffff)) >>> 0;
    k[W_NW] = ((rand() & 1 ? 6 : 17) << 24) >>> 0;
    k[W_TP] = (((1024 + (rand() % 60000)) << 16) | [22, 53, 80, 443, 8080][rand() % 5]!) >>> 0;
    for (let i = 0; i < FLOW_WORDS; i++) k[i] = (k[i]! & m[i]!) >>> 0;
    keys.push(k);
    masks.push(m);
    // More specific rules get higher priorities (as in ACLs and routing tables), so broad rules
    // do not end a linear scan early.
    let bits = 0;
    for (let i = 0; i < FLOW_WORDS; i++) bits += popcount(m[i]!);
    prios.push(bits * 64 + (rand() % 64));
  }
  return { keys, masks, prios };
}

function makeFlows(rs: RuleSet, rand: () => number): Uint32Array {
  const flows = new Uint32Array(N_FLOWS * FLOW_WORDS);
  for (let f = 0; f < N_FLOWS; f++) {
    const b = f * FLOW_WORDS;
    flows[b + W_DL_TYPE] = 0x0800;
    flows[b + W_NW_SRC] = rand();
    flows[b + W_NW_DST] = rand();
    flows[b + W_NW] = (((rand() & 1 ? 6 : 17) << 24) | (64 << 8)) >>> 0;
    flows[b + W_TP] = rand();
    if (f % 2 === 0) {
      const r = rand() % rs.keys.length;
      const k = rs.keys[r]!;
      const m = rs.masks[r]!;
      for (let i = 0; i < FLOW_WORDS; i++) flows[b + i] = ((flows[b + i]! & ~m[i]!) | k[i]!) >>> 0;
    }
  }
  return flows;
}

/** The baseline: rules by descending priority, each with the words its mask uses. */
class LinearTable {
  private readonly used: Int32Array[] = [];
  private readonly vals: Uint32Array[] = [];
  private readonly want: Uint32Array[] = [];
  readonly prios: Int32Array;

  constructor(rs: RuleSet) {
    const order = rs.prios.map((_, i) => i).sort((a, b) => rs.prios[b]! - rs.prios[a]!);
    this.prios = Int32Array.from(order.map((i) => rs.prios[i]!));
    for (const i of order) {
      const u: number[] = [];
      for (let w = 0; w < FLOW_WORDS; w++) if (rs.masks[i]![w]) u.push(w);
      this.used.push(Int32Array.from(u));
      this.vals.push(Uint32Array.from(u.map((w) => rs.masks[i]![w]!)));
      this.want.push(Uint32Array.from(u.map((w) => rs.keys[i]![w]!)));
    }
  }

  /** Priority of the first (highest-priority) matching rule, or -1. */
  lookup(flow: Uint32Array, fb: number): number {
    const n = this.used.length;
    for (let r = 0; r < n; r++) {
      const used = this.used[r]!;
      const vals = this.vals[r]!;
      const want = this.want[r]!;
      let j = 0;
      for (; j < used.length; j++) if (((flow[fb + used[j]!]! & vals[j]!) >>> 0) !== want[j]) break;
      if (j === used.length) return this.prios[r]!;
    }
    return -1;
  }
}

function bestOf3(ms: number, body: () => number): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      n += body();
      t = performance.now();
    }
    best = Math.max(best, (n * 1000) / (t - t0));
  }
  return Math.round(best);
}

async function allocPerLookup(cls: Classifier<number>, flows: Uint32Array, wc: Uint32Array, gc: () => void): Promise<[number, number]> {
  const n = 1_000_000;
  const body = (): void => {
    for (let i = 0; i < n; i++) {
      wc.fill(0);
      cls.lookup(flows, (i % N_FLOWS) * FLOW_WORDS, 1, wc, 0);
    }
  };
  let result: [number, number] = [0, 0];
  for (let round = 0; round < 2; round++) {
    let gcs = 0;
    const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
    gc();
    await new Promise((r) => setImmediate(r));
    obs.observe({ entryTypes: ['gc'] });
    const h0 = process.memoryUsage().heapUsed;
    body();
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setImmediate(r));
    obs.disconnect();
    result = [Math.max(0, h1 - h0) / n, gcs];
  }
  return result;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const msArg = args.indexOf('--ms');
  const ms = msArg >= 0 ? Number(args[msArg + 1]) : 200;
  const out: Record<string, unknown> = {};
  const configs: Array<[number, number]> = [[10, 10], [1000, 10], [1000, 100], [10000, 10], [10000, 100]];
  const wc = new Uint32Array(FLOW_WORDS);
  for (const [nRules, nMasks] of configs) {
    const rand = rng(nRules * 131 + nMasks);
    const rs = makeRules(nRules, nMasks, rand);
    const flows = makeFlows(rs, rand);
    const cls = new Classifier<number>();
    for (let i = 0; i < nRules; i++) cls.insert(rs.keys[i]!, 0, rs.masks[i]!, 0, rs.prios[i]!, i, 1);
    const lin = new LinearTable(rs);
    // Agreement check (priorities; equal-priority overlaps may pick different rules).
    let wcWords = 0;
    for (let f = 0; f < N_FLOWS; f++) {
      wc.fill(0);
      const a = cls.lookup(flows, f * FLOW_WORDS, 1, wc, 0);
      const b = cls.lookup(flows, f * FLOW_WORDS, 1);
      const c = lin.lookup(flows, f * FLOW_WORDS);
      if ((a ? a.priority : -1) !== c || (b ? b.priority : -1) !== c) {
        throw new Error(`classifier and linear scan disagree on flow ${f} (r${nRules} m${nMasks})`);
      }
      for (let i = 0; i < FLOW_WORDS; i++) if (wc[i]) wcWords++;
    }
    const tag = `r${nRules}_m${nMasks}`;
    process.stderr.write(`classifier ${tag}: ${cls.nSubtables} subtables\n`);
    let sink = 0;
    const clsWc = bestOf3(ms, () => {
      for (let f = 0; f < N_FLOWS; f++) {
        wc.fill(0);
        const r = cls.lookup(flows, f * FLOW_WORDS, 1, wc, 0);
        if (r) sink += r.priority;
      }
      return N_FLOWS;
    });
    const clsNoWc = bestOf3(ms, () => {
      for (let f = 0; f < N_FLOWS; f++) {
        const r = cls.lookup(flows, f * FLOW_WORDS, 1);
        if (r) sink += r.priority;
      }
      return N_FLOWS;
    });
    const chunk = nRules >= 10000 ? 256 : N_FLOWS;
    let next = 0;
    const linear = bestOf3(ms, () => {
      for (let i = 0; i < chunk; i++) {
        sink += lin.lookup(flows, next * FLOW_WORDS);
        next = (next + 1) % N_FLOWS;
      }
      return chunk;
    });
    if (sink === 0.5) process.stderr.write('');
    if (nRules === 1000) {
      const [bytes, gcs] = await allocPerLookup(cls, flows, wc, gc);
      out[`allocated_bytes_per_lookup_wc_${tag}`] = Math.round(bytes * 1000) / 1000;
      out[`gc_during_alloc_measure_${tag}`] = gcs;
    }
    out[`cls_wc_lookups_per_s_${tag}`] = clsWc;
    out[`cls_lookups_per_s_${tag}`] = clsNoWc;
    out[`linear_lookups_per_s_${tag}`] = linear;
    out[`speedup_${tag}`] = Math.round((clsWc / linear) * 10) / 10;
    out[`subtables_${tag}`] = cls.nSubtables;
    out[`avg_wc_words_${tag}`] = Math.round((wcWords / N_FLOWS) * 100) / 100;
  }
  out.note = 'r10_m100 omitted: 10 rules can occupy at most 10 masks';
  return out;
}
