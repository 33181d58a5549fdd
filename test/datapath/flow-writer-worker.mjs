// Flow churn for the datapath concurrency test: a writer thread (as a handler or revalidator would
// be) that creates, modifies and deletes flows at random for `durationMs`, then deletes what is
// left. Flow f matches in_port=p1, IPv4, nw_dst=20.0.0.f (odd f also tp_dst=53, a second mask, so
// subtables come and go). Its actions stamp the flow and a global version into the frame's source
// MAC (02:ff:vv:vv:vv:vv with f in byte 1) and output to p2. ctl[1] = the last version whose put
// has started. Posts the log: ['create'|'modify', f, v] and ['del', f, v, packets, bytes].
import { workerData, parentPort } from 'node:worker_threads';
import { FlowTable, parseOdpActions, DPIF_FP_CREATE, DPIF_FP_MODIFY } from '@tsvs/dpif';
import { FLOW_WORDS, W_IN_PORT, W_DL_TYPE, W_NW_DST, W_TP } from '@tsvs/packet';

const { table: sab, p1, p2, nFlows, durationMs, ctl } = workerData;
const c = new Int32Array(ctl);
const table = FlowTable.attach(sab);
const keys = [], masks = [];
for (let f = 0; f < nFlows; f++) {
  const k = new Uint32Array(FLOW_WORDS), m = new Uint32Array(FLOW_WORDS);
  k[W_IN_PORT] = p1; m[W_IN_PORT] = 0xffffffff;
  k[W_DL_TYPE] = 0x0800; m[W_DL_TYPE] = 0xffff;
  k[W_NW_DST] = (0x14000000 + f) >>> 0; m[W_NW_DST] = 0xffffffff;
  if (f % 2 === 1) { k[W_TP] = 53; m[W_TP] = 0xffff; }
  keys.push(k); masks.push(m);
}
const hex = (n) => n.toString(16).padStart(2, '0');
const actions = (f, v) => parseOdpActions(
  `set(eth(src=02:${hex(f)}:${hex(v >>> 24)}:${hex((v >>> 16) & 255)}:${hex((v >>> 8) & 255)}:${hex(v & 255)})),${p2}`);
const log = [];
const cur = new Array(nFlows).fill(0); // current version, 0 = absent
const ufids = new Array(nFlows).fill(null);
let version = 0;
let seed = 0x12345;
const rnd = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
const fail = (what, r) => { throw new Error(`${what}: ${r.error}`); };
const end = Date.now() + durationMs;
let ops = 0;
while (Date.now() < end) {
  const f = rnd(nFlows);
  if (cur[f] === 0) {
    const v = ++version;
    Atomics.store(c, 1, v);
    const r = table.put({ flags: DPIF_FP_CREATE, key: keys[f], mask: masks[f], actions: actions(f, v) });
    if (r.error !== 0) fail(`create flow ${f}`, r);
    cur[f] = v;
    ufids[f] = r.ufid;
    log.push(['create', f, v]);
  } else if (rnd(2) === 0) {
    const v = ++version;
    Atomics.store(c, 1, v);
    const r = table.put({ flags: DPIF_FP_MODIFY, key: keys[f], mask: masks[f], actions: actions(f, v) });
    if (r.error !== 0) fail(`modify flow ${f}`, r);
    cur[f] = v;
    log.push(['modify', f, v]);
  } else {
    const d = table.del(ufids[f]);
    if (d.error !== 0) fail(`delete flow ${f}`, d);
    log.push(['del', f, cur[f], d.stats.packets, d.stats.bytes]);
    cur[f] = 0;
  }
  ops++;
}
for (let f = 0; f < nFlows; f++) {
  if (cur[f] === 0) continue;
  const d = table.del(ufids[f]);
  if (d.error !== 0) fail(`final delete of flow ${f}`, d);
  log.push(['del', f, cur[f], d.stats.packets, d.stats.bytes]);
}
parentPort.postMessage({ log, ops });
