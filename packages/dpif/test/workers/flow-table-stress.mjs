// Worker for flow-table-concurrency.test.ts: a PMD-like reader or a handler/revalidator-like
// writer over one shared FlowTable. Plain JavaScript (workers cannot start from .ts on Node 20);
// imports the built package.
import { parentPort, workerData } from 'node:worker_threads';
import { FlowTable, DPIF_FP_CREATE, DPIF_FP_MODIFY, LOOKUP_EMC } from '@tsvs/dpif';
import { FLOW_WORDS, W_IN_PORT, W_DL_TYPE, W_NW_SRC, W_NW_DST, W_NW, W_TP, W_DL_SRC_LO } from '@tsvs/packet';

const { role, id, tableSab, ctlSab, incSab, nKeys, maxInc } = workerData;
// FT_MODE=single|batch forces one lookup path (default: alternate per burst).
const MODE = process.env.FT_MODE ?? 'mixed';
const table = FlowTable.attach(tableSab);
const ctl = new Int32Array(ctlSab); // see the test for the slots
const C_STOP = 0, C_SEQ = 1, C_INC = 2, C_ERRORS = 3;
// Per-key liveness: liveInc[k] = incarnation whose put returned and whose delete has not started.
const liveInc = new Int32Array(ctlSab, 64, nKeys);
// Per incarnation: key, delete-done sequence number, final stats returned by del.
const incKey = new Int32Array(incSab, 0, maxInc);
const incDelSeq = new Int32Array(incSab, maxInc * 4, maxInc);
const incFinal = new Float64Array(incSab, maxInc * 8, maxInc * 2);

const errors = [];
function fail(msg) {
  Atomics.add(ctl, C_ERRORS, 1);
  if (errors.length < 20) errors.push(msg);
}

// Key k: in_port 1 + k % 4, IPv4, nw_src 10.0.k.k exact under every mask (so keys never overlap).
// Masks: k % 3 picks one of three; keys 0 and 1 use a fourth mask alone, so that subtable is
// created and destroyed over and over.
function mask(k) {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  m[W_NW_SRC] = 0xffffffff;
  if (k < 2) { m[W_NW] = 0xff000000; return m; }
  switch (k % 3) {
    case 0: m[W_DL_TYPE] = 0xffff; break;
    case 1: m[W_NW_DST] = 0xffffff00; break;
    default: m[W_TP] = 0xffffffff;
  }
  return m;
}
function baseKey(k) {
  const key = new Uint32Array(FLOW_WORDS);
  key[W_IN_PORT] = 1 + (k % 4);
  key[W_DL_TYPE] = 0x0800;
  key[W_NW_SRC] = (0x0a000000 + k) >>> 0;
  key[W_NW_DST] = 0xc0a80100;
  key[W_NW] = 0x06004000;
  key[W_TP] = (1000 << 16) | 80;
  return key;
}

// Action blob of (key, incarnation, version): 12-byte header then a pattern; the length varies
// with the version so that a torn or reused slot shows.
function blobLen(ver) { return 12 + ((ver * 37) % 200); }
function patternByte(k, inc, ver, i) { return (k * 31 + inc * 7 + ver * 13 + i) & 0xff; }
function blob(k, inc, ver) {
  const len = blobLen(ver);
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, k, true); dv.setUint32(4, inc, true); dv.setUint32(8, ver, true);
  for (let i = 12; i < len; i++) b[i] = patternByte(k, inc, ver, i);
  return b;
}

let rng = (id + 1) * 0x9e3779b1 | 1;
function rand(n) { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return ((rng >>> 0) % n); }

if (role === 'writer') runWriter(); else runReader();

function runWriter() {
  const nWriters = workerData.nWriters;
  const mine = [];
  for (let k = 0; k < nKeys; k++) if (k % nWriters === id) mine.push(k);
  const masks = new Map(mine.map((k) => [k, mask(k)]));
  const keys = new Map(mine.map((k) => [k, baseKey(k)]));
  const cur = new Map(); // k -> { inc, ver, ufid }
  let creates = 0, modifies = 0, deletes = 0, batches = 0, dumps = 0;
  const recordDel = (inc, stats) => {
    incFinal[inc * 2] = stats.packets;
    incFinal[inc * 2 + 1] = stats.bytes;
    Atomics.store(incDelSeq, inc, Atomics.add(ctl, C_SEQ, 1) + 1);
  };
  const create = (k) => {
    const inc = Atomics.add(ctl, C_INC, 1) + 1;
    if (inc >= maxInc) return false;
    incKey[inc] = k;
    const r = table.put({ flags: DPIF_FP_CREATE, key: keys.get(k), mask: masks.get(k), actions: blob(k, inc, 0) });
    if (r.error !== 0) { fail(`writer ${id}: create k=${k} inc=${inc}: ${r.error}`); return false; }
    cur.set(k, { inc, ver: 0, ufid: r.ufid });
    Atomics.store(liveInc, k, inc);
    creates++;
    return true;
  };
  const del = (k) => {
    const c = cur.get(k);
    Atomics.store(liveInc, k, 0);
    const r = table.del(c.ufid);
    if (r.error !== 0) fail(`writer ${id}: del k=${k}: ${r.error}`);
    recordDel(c.inc, r.stats);
    cur.delete(k);
    deletes++;
  };
  while (Atomics.load(ctl, C_STOP) === 0) {
    const r = rand(100);
    if (r < 3) {
      // A batch through operate: modify several flows and delete one, one grace period.
      const ks = [...cur.keys()].slice(0, 4);
      if (ks.length === 0) continue;
      const ops = [];
      for (const k of ks.slice(1)) {
        const c = cur.get(k);
        c.ver++;
        ops.push({ type: 'put', flags: DPIF_FP_MODIFY, key: keys.get(k), mask: masks.get(k), actions: blob(k, c.inc, c.ver), ufid: c.ufid });
      }
      const dk = ks[0], dc = cur.get(dk);
      Atomics.store(liveInc, dk, 0);
      ops.push({ type: 'del', ufid: dc.ufid });
      const res = table.operate(ops);
      for (const x of res) if (x.error !== 0) fail(`writer ${id}: batch ${x.type}: ${x.error}`);
      recordDel(dc.inc, res[res.length - 1].stats);
      cur.delete(dk);
      modifies += ops.length - 1;
      deletes++;
      batches++;
      continue;
    }
    if (r < 4) {
      // A terse dump while everything changes.
      const d = table.dump({ terse: true });
      while (d.next(50).length > 0);
      dumps++;
      continue;
    }
    const k = mine[rand(mine.length)];
    if (!cur.has(k)) { if (!create(k)) break; continue; }
    if (r < 55) {
      const c = cur.get(k);
      c.ver++;
      const m = table.put({ flags: DPIF_FP_MODIFY, key: keys.get(k), mask: masks.get(k), actions: blob(k, c.inc, c.ver) });
      if (m.error !== 0) fail(`writer ${id}: modify k=${k}: ${m.error}`);
      modifies++;
    } else {
      del(k);
    }
  }
  for (const k of [...cur.keys()]) del(k);
  parentPort.postMessage({ role, id, creates, modifies, deletes, batches, dumps, errors });
}

function runReader() {
  const pmd = table.openPmd(id);
  const counts = new Int32Array(maxInc);
  const bytes = new Float64Array(maxInc);
  const keys = [];
  for (let k = 0; k < nKeys; k++) keys.push(baseKey(k));
  const u8 = table.bytes;
  let lookups = 0, hits = 0, emcHits = 0, misses = 0, held = 0, offlines = 0, bursts = 0;
  const readHeader = (off) => u8[off] | (u8[off + 1] << 8) | (u8[off + 2] << 16) | (u8[off + 3] << 24);
  const burst = new Uint32Array(32 * FLOW_WORDS);
  const bk = new Int32Array(32), before = new Int32Array(32), seqBefore = new Int32Array(32), out = new Int32Array(32);
  while (Atomics.load(ctl, C_STOP) === 0) {
    // Odd bursts go through lookupBatch (EMC + batched dpcls), even ones key by key.
    const batched = MODE === 'batch' || (MODE !== 'single' && (bursts & 1) === 1);
    for (let b = 0; b < 32; b++) {
      const k = rand(nKeys), kb = b * FLOW_WORDS;
      bk[b] = k;
      burst.set(keys[k], kb);
      // Noise in words no mask uses (4 variants, so that EMC hits happen) and in nw_dst's low byte.
      burst[kb + W_DL_SRC_LO] = rand(4);
      burst[kb + W_NW_DST] = (0xc0a80100 | rand(4)) >>> 0;
    }
    if (batched) {
      for (let b = 0; b < 32; b++) { before[b] = Atomics.load(liveInc, bk[b]); seqBefore[b] = Atomics.load(ctl, C_SEQ); }
      pmd.lookupBatch(burst, 0, 32, out);
      emcHits += pmd.lastEmcHits;
    }
    for (let b = 0; b < 32; b++) {
      const k = bk[b];
      let a, sb, e;
      if (batched) { a = before[b]; sb = seqBefore[b]; e = out[b]; } else {
        a = Atomics.load(liveInc, k);
        sb = Atomics.load(ctl, C_SEQ);
        e = pmd.lookup(burst, b * FLOW_WORDS);
        if (pmd.lastPath === LOOKUP_EMC) emcHits++;
      }
      lookups++;
      if (e < 0) {
        misses++;
        const after = Atomics.load(liveInc, k);
        if (a !== 0 && a === after) fail(`reader ${id}: miss for k=${k} while incarnation ${a} was alive throughout`);
        continue;
      }
      hits++;
      const gen0 = table.entryGen(e);
      const slot = table.flowActions(e);
      const off = table.actionsOffset(slot), len = table.actionsLength(slot);
      const hk = readHeader(off), inc = readHeader(off + 4), ver = readHeader(off + 8);
      if (hk !== k) { fail(`reader ${id}: key ${k} got actions of key ${hk} (entry ${e} gen ${gen0} nw_src ${table.entryKeyWord(e, W_NW_SRC).toString(16)} slot ${slot} inc ${inc} ver ${ver}, ${batched ? 'batch' : 'single path ' + pmd.lastPath}, liveInc ${a}/${Atomics.load(liveInc, k)})`); continue; }
      if (table.entryKeyWord(e, W_NW_SRC) !== ((0x0a000000 + k) >>> 0)) fail(`reader ${id}: key ${k} got entry ${e} with another key`);
      if (len !== blobLen(ver)) fail(`reader ${id}: k=${k} inc=${inc} ver=${ver}: length ${len}, want ${blobLen(ver)}`);
      for (let i = 12; i < len; i++) {
        if (u8[off + i] !== patternByte(k, inc, ver, i)) { fail(`reader ${id}: torn actions k=${k} inc=${inc} ver=${ver} byte ${i}`); break; }
      }
      if (incKey[inc] !== k) fail(`reader ${id}: incarnation ${inc} is not of key ${k}`);
      const ds = Atomics.load(incDelSeq, inc);
      if (ds !== 0 && ds <= sb) fail(`reader ${id}: k=${k} incarnation ${inc} found after its delete returned`);
      const after = Atomics.load(liveInc, k);
      if (a !== 0 && a === after && inc !== a) fail(`reader ${id}: k=${k} found incarnation ${inc} while ${a} was alive throughout`);
      table.statsAdd(e, id, 1, len, 0x10, 1);
      counts[inc]++;
      bytes[inc] += len;
      // Hold the entry a while, then check nothing was reused under us.
      if ((b & 7) === 0) {
        let spin = 0;
        for (let i = 0; i < 300; i++) spin += u8[off + (i % len)];
        held += spin & 1;
        const g = table.entryGen(e);
        if (g !== gen0 && g !== ((gen0 + 1) | 0)) fail(`reader ${id}: entry ${e} reused while held (gen ${gen0} -> ${g})`);
        if (table.entryKeyWord(e, W_NW_SRC) !== ((0x0a000000 + k) >>> 0)) fail(`reader ${id}: entry ${e} key changed while held`);
        if (readHeader(off) !== k || readHeader(off + 4) !== inc || readHeader(off + 8) !== ver || table.actionsLength(slot) !== len) {
          fail(`reader ${id}: action slot ${slot} reused while held`);
        }
      }
    }
    bursts++;
    pmd.quiesce();
    pmd.optimize(bursts);
    if ((bursts & 1023) === 0) {
      pmd.offline();
      offlines++;
      Atomics.wait(ctl, C_STOP, 0, 1);
      pmd.online();
    }
  }
  pmd.close();
  parentPort.postMessage({ role, id, lookups, hits, emcHits, misses, held, offlines, errors, counts, bytes }, [counts.buffer, bytes.buffer]);
}
