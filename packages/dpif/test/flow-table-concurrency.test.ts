import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { DPIF_FP_CREATE, FlowTable } from '@tsvs/dpif';
import { FLOW_WORDS, W_IN_PORT, W_NW_SRC } from '@tsvs/packet';

const STRESS = new URL('./workers/flow-table-stress.mjs', import.meta.url);

interface WriterResult { role: 'writer'; id: number; creates: number; modifies: number; deletes: number; batches: number; dumps: number; errors: string[] }
interface ReaderResult {
  role: 'reader'; id: number; lookups: number; hits: number; emcHits: number; misses: number; held: number;
  offlines: number; errors: string[]; counts: Int32Array; bytes: Float64Array;
}

function start(data: Record<string, unknown>): { worker: Worker; done: Promise<WriterResult | ReaderResult> } {
  const worker = new Worker(STRESS, { workerData: data });
  const done = new Promise<WriterResult | ReaderResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
  return { worker, done };
}

describe('dpif/flow table: concurrency with real worker threads', function () {
  this.timeout(60000);

  it('PMD readers look up without locks while 2 writers create, modify and delete for 3 s: results alive and consistent, nothing reused early, stats exact', async () => {
    const nKeys = 48, maxInc = 1 << 20, nReaders = 2, nWriters = 2;
    // A small table so that freed entries and action slots are reused at once (LIFO free stacks).
    const table = FlowTable.create({ capacity: 64, maxPmds: nReaders, actionsReserve: 64, emcInsertInvProb: 2 });
    const ctlSab = new SharedArrayBuffer(64 + nKeys * 4);
    const incSab = new SharedArrayBuffer(maxInc * 24); // key i32, delete seq i32, final stats 2 x f64
    const ctl = new Int32Array(ctlSab);
    const common = { tableSab: table.sab, ctlSab, incSab, nKeys, maxInc, nWriters };
    const readers = Array.from({ length: nReaders }, (_, id) => start({ ...common, role: 'reader', id }));
    const writers = Array.from({ length: nWriters }, (_, id) => start({ ...common, role: 'writer', id }));
    await new Promise((r) => setTimeout(r, 3000));
    Atomics.store(ctl, 0, 1);
    const all = await Promise.all([...readers, ...writers].map((x) => x.done));
    const rs = all.filter((x) => x.role === 'reader') as ReaderResult[];
    const ws = all.filter((x) => x.role === 'writer') as WriterResult[];

    if (process.env.FT_DEBUG) console.log(JSON.stringify([...rs.map(({ counts: _c, bytes: _b, ...r }) => r), ...ws]));
    const errors = [...rs, ...ws].flatMap((r) => r.errors);
    expect(errors, errors.join('\n')).to.deep.equal([]);
    expect(Atomics.load(ctl, 3)).to.equal(0);
    expect(table.flowCount).to.equal(0);
    expect(table.subtableCount).to.equal(0);

    // The run exercised what it claims to.
    const sum = (f: (r: ReaderResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
    const wsum = (f: (w: WriterResult) => number): number => ws.reduce((a, w) => a + f(w), 0);
    expect(sum((r) => r.lookups)).to.be.greaterThan(100000);
    expect(sum((r) => r.hits)).to.be.greaterThan(20000);
    expect(sum((r) => r.emcHits)).to.be.greaterThan(1000);
    expect(sum((r) => r.misses)).to.be.greaterThan(100);
    expect(sum((r) => r.offlines)).to.be.greaterThan(0);
    expect(wsum((w) => w.creates)).to.be.greaterThan(300);
    expect(wsum((w) => w.modifies)).to.be.greaterThan(300);
    expect(wsum((w) => w.batches)).to.be.greaterThan(5);
    expect(wsum((w) => w.dumps)).to.be.greaterThan(5);
    expect(wsum((w) => w.creates)).to.equal(wsum((w) => w.deletes));

    // Every lookup was counted exactly once in the stats its flow's delete returned.
    const nInc = Atomics.load(ctl, 2);
    const incDelSeq = new Int32Array(incSab, maxInc * 4, maxInc);
    const incFinal = new Float64Array(incSab, maxInc * 8, maxInc * 2);
    let checked = 0, packets = 0;
    for (let inc = 1; inc <= nInc; inc++) {
      const n = rs.reduce((a, r) => a + r.counts[inc]!, 0);
      const b = rs.reduce((a, r) => a + r.bytes[inc]!, 0);
      expect(incDelSeq[inc], `incarnation ${inc} deleted`).to.be.greaterThan(0);
      if (incFinal[inc * 2] !== n || incFinal[inc * 2 + 1] !== b) {
        expect.fail(`incarnation ${inc}: del returned ${incFinal[inc * 2]} packets / ${incFinal[inc * 2 + 1]} bytes, readers counted ${n} / ${b}`);
      }
      checked++;
      packets += n;
    }
    expect(checked).to.equal(wsum((w) => w.creates));
    expect(packets).to.equal(sum((r) => r.hits));
  });

  it('a delete waits until an online PMD in another thread passes a quiescent point; an offline PMD is not waited for', async () => {
    const table = FlowTable.create({ capacity: 8, maxPmds: 2 });
    const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
    key[W_IN_PORT] = 1; key[W_NW_SRC] = 0x0a000001;
    mask[W_IN_PORT] = 0xffffffff; mask[W_NW_SRC] = 0xffffffff;
    const flag = new Int32Array(new SharedArrayBuffer(16));
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(({ FlowTable }) => {
        const { sab, flagSab, key, mode } = workerData;
        const t = FlowTable.attach(sab);
        const flag = new Int32Array(flagSab);
        const pmd = t.openPmd(1);
        const e = pmd.lookup(key, 0);
        if (mode === 'offline') pmd.offline();
        Atomics.store(flag, 0, e >= 0 ? 1 : -1);       // "holding the entry"
        Atomics.notify(flag, 0);
        Atomics.wait(flag, 2, 0, 300);                 // hold it for 300 ms
        Atomics.store(flag, 1, 1);                     // about to quiesce
        if (mode === 'online') pmd.quiesce();
        Atomics.wait(flag, 3, 0);                      // until released
        pmd.close();
        parentPort.postMessage('done');
      });`;
    for (const mode of ['online', 'offline']) {
      const r = table.put({ flags: DPIF_FP_CREATE, key, mask, actions: Uint8Array.of(1) });
      expect(r.error).to.equal(0);
      flag.fill(0);
      const w = new Worker(code, { eval: true, workerData: { sab: table.sab, flagSab: flag.buffer, key, mode } });
      const exited = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 50);
      expect(Atomics.load(flag, 0), 'worker found the flow').to.equal(1);
      const t0 = performance.now();
      const d = table.del(r.ufid);
      const waited = performance.now() - t0;
      const quiescedBeforeReturn = Atomics.load(flag, 1);
      Atomics.store(flag, 3, 1);
      Atomics.notify(flag, 3);
      await exited;
      expect(d.error).to.equal(0);
      if (mode === 'online') {
        expect(quiescedBeforeReturn, 'del returned before the PMD quiesced').to.equal(1);
        expect(waited).to.be.greaterThan(100);
      } else {
        expect(quiescedBeforeReturn, 'del waited for an offline PMD').to.equal(0);
      }
    }
  });

  it('a PMD that never quiesces makes a writer give up with an error after graceTimeoutMs; the flow is gone', async () => {
    const table = FlowTable.create({ capacity: 8, maxPmds: 2 });
    const impatient = FlowTable.attach(table.sab, { graceTimeoutMs: 200 });
    const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
    mask[W_IN_PORT] = 0xffffffff;
    const r = table.put({ flags: DPIF_FP_CREATE, key, mask, actions: Uint8Array.of(1) });
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(({ FlowTable }) => {
        const t = FlowTable.attach(workerData.sab);
        const flag = new Int32Array(workerData.flagSab);
        const pmd = t.openPmd(0);
        Atomics.store(flag, 0, 1);
        Atomics.wait(flag, 1, 0);
        pmd.close();
        parentPort.postMessage('done');
      });`;
    const w = new Worker(code, { eval: true, workerData: { sab: table.sab, flagSab: flag.buffer } });
    const exited = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 50);
    expect(() => impatient.del(r.ufid)).to.throw(/PMD 0 passed no quiescent point in 200 ms/);
    expect(table.get(r.ufid).error).to.equal('ENOENT');
    expect(table.flowCount).to.equal(0);
    Atomics.store(flag, 1, 1);
    Atomics.notify(flag, 1);
    await exited;
  });
});
