/**
 * `pnpm bench revalidator [--json] [--quick]`: revalidation rounds over the shared flow table and
 * the ukey table, with real revalidator threads (worker_threads) and the table-0 translator.
 *
 * Setup per size (10k, 100k, 1M flows; --quick: 10k, 100k): a flow table of exactly that capacity
 * (2 PMD stats slots), a ukey table of the same capacity, one OpenFlow rule `ip,actions=output:2`,
 * and that many datapath flows installed as a handler does (ukey install, put CREATE, install
 * finish), distinct by in_port (megaflow mask: in_port and dl_type; actions output(2); one rule).
 * No traffic during the rounds (stats deltas are zero). max-idle and the flow limit are set high so
 * that nothing is deleted: every round keeps every flow.
 *
 * Figures (ms are the round's duration as the revalidators record it: dump phase + sweep phase,
 * median of 3 rounds after 3 warm-up rounds, which new threads need to get their code compiled):
 * - round_ms_{10k,100k,1m}_flows_keep[_2rev]: nothing changed (terse dump, ukey found, kept), with 1
 *   (no suffix) and 2 revalidator threads.
 * - round_ms_{10k,100k}_flows_retranslate[_2rev]: after a kick (reval seq moved), every flow is
 *   re-translated (classifier lookup, actions compared, mask checked) and kept.
 * - terse_vs_full_dump_ratio: time of a terse dump (UFID + stats) over time of a full dump (key,
 *   mask, actions, stats) of the same 100k flows in batches of 50, one thread, same run, best of 3
 *   each (OVS's UFID series reports terse 40% or more cheaper, i.e. a ratio of 0.6 or less).
 *   dump_ms_100k_terse / dump_ms_100k_full: those times.
 * - bytes_per_flow: shared memory per flow at 1M (10k with --quick): flow table + ukey table
 *   (SharedArrayBuffer sizes / flows). bytes_per_flow_rss: resident memory growth of the process
 *   (all threads) from before creating the tables to after the rounds, / flows.
 *   flow_table_bytes_per_flow, ukey_bytes_per_flow: the two parts. held_1m_flows_mib: RSS growth in MiB.
 * - install_us_per_flow: handler-side cost of one install (ukey install + put + finish), 1M run.
 */
import { DPIF_FP_CREATE, FlowTable, deriveUfid } from '@tsvs/dpif';
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT } from '@tsvs/packet';
import { parseFlowMod } from '@tsvs/ofproto';
import { Revalidators, SimpleTranslator, SIMPLE_TRANSLATOR_MODULE, UkeyTable, dpNow } from '@tsvs/ofproto/revalidator/index';

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Env { flows: FlowTable; ukeys: UkeyTable; rv: Revalidators; installUs: number }

async function setup(n: number): Promise<Env> {
  const mods = [parseFlowMod('ip,actions=output:2', 'add')];
  const xl = new SimpleTranslator({ batches: [mods] });
  const flows = FlowTable.create({ capacity: n, maxPmds: 2 });
  const ukeys = UkeyTable.create({ capacity: n });
  const key = new Uint32Array(FLOW_WORDS);
  key[W_DL_TYPE] = 0x0800;
  key[W_IN_PORT] = 1;
  const tr = xl.translate(key, 0);
  const ufid = new Uint32Array(4);
  const revalSeq = ukeys.revalSeq;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    key[W_IN_PORT] = i + 1;
    deriveUfid(key, 0, tr.mask, 0, flows.secret, ufid);
    const r = ukeys.install({ ufid, key, mask: tr.mask, actions: tr.actions, rules: tr.rules, version: xl.version, revalSeq, nowMs: dpNow() });
    if (!r.ok) throw new Error(`ukey install ${i}: ${r.status}`);
    const p = flows.put({ flags: DPIF_FP_CREATE, key, mask: tr.mask, actions: tr.actions, ufid });
    ukeys.installFinish(r.ukey, r.gen, p.error === 0);
    if (p.error) throw new Error(`put ${i}: ${p.error}`);
  }
  const installUs = ((performance.now() - t0) * 1000) / n;
  const rv = await Revalidators.start({
    flowTable: flows, ukeys, nThreads: 1, timer: false,
    translator: { module: SIMPLE_TRANSLATOR_MODULE, init: { batches: [mods] } },
    tunables: { 'max-idle': 3600_000, 'flow-limit': 4 * n },
    log,
  });
  rv.setFlowLimit(4 * n);
  return { flows, ukeys, rv, installUs };
}

async function rounds(rv: Revalidators, kick: boolean): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 6; i++) {
    if (kick) rv.kick();
    await rv.wait({ kick: true });
    if (i >= 3) ms.push(rv.show().lastRoundMs);
  }
  return median(ms);
}

function dumpMs(flows: FlowTable, terse: boolean): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const d = flows.dump({ terse });
    let n = 0;
    for (;;) {
      const b = d.next(50);
      if (b.length === 0) break;
      n += b.length;
    }
    const t = performance.now() - t0;
    if (n !== flows.flowCount) throw new Error(`dump saw ${n} of ${flows.flowCount} flows`);
    best = Math.min(best, t);
  }
  return best;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const sizes: Array<[number, string]> = [[10_000, '10k'], [100_000, '100k']];
  if (!quick) sizes.push([1_000_000, '1m']);
  const out: Record<string, unknown> = {};
  for (const [n, tag] of sizes) {
    const rss0 = process.memoryUsage().rss;
    log(`revalidator: installing ${n} flows`);
    const env = await setup(n);
    const { rv, flows, ukeys } = env;
    try {
      out[`round_ms_${tag}_flows_keep`] = await rounds(rv, false);
      if (n <= 100_000) out[`round_ms_${tag}_flows_retranslate`] = await rounds(rv, true);
      await rv.setThreads(2);
      out[`round_ms_${tag}_flows_keep_2rev`] = await rounds(rv, false);
      if (n <= 100_000) out[`round_ms_${tag}_flows_retranslate_2rev`] = await rounds(rv, true);
      const s = rv.show();
      const deleted = Object.values(s.deleted).reduce((a, b) => a + b, 0);
      if (deleted !== 0 || flows.flowCount !== n) throw new Error(`rounds deleted flows: ${JSON.stringify(s.deleted)}`);
      log(`revalidator: ${tag}: ${JSON.stringify(Object.fromEntries(Object.entries(out).filter(([k]) => k.includes(`_${tag}_`))))}`);
      if (n === 100_000) {
        await rv.pause();
        const full = dumpMs(flows, false), terse = dumpMs(flows, true);
        out.dump_ms_100k_terse = +terse.toFixed(2);
        out.dump_ms_100k_full = +full.toFixed(2);
        out.terse_vs_full_dump_ratio = +(terse / full).toFixed(3);
        rv.resume();
      }
      if (n === sizes[sizes.length - 1]![0]) {
        const rss = process.memoryUsage().rss - rss0;
        out.flows_for_bytes = n;
        out.flow_table_bytes_per_flow = Math.round(flows.sab.byteLength / n);
        out.ukey_bytes_per_flow = Math.round(ukeys.sab.byteLength / n);
        out.bytes_per_flow = Math.round((flows.sab.byteLength + ukeys.sab.byteLength) / n);
        out.bytes_per_flow_rss = Math.round(rss / n);
        out[`held_${tag}_flows_mib`] = Math.round(rss / 1048576);
        out.install_us_per_flow = +env.installUs.toFixed(2);
        out.ukey_heap_words_used_per_flow = +(ukeys.heapUsedWords / n).toFixed(1);
      }
    } finally {
      await rv.stop();
    }
  }
  return out;
}
