// A PMD-like traffic thread for revalidator tests: looks up N keys in the shared flow table in
// bursts of 32 (as a PMD does: EMC, dpcls), adds 1 packet of 64 bytes to each hit's stats with the
// datapath clock, and counts its hits per key in shared memory (written by this thread only, read
// by the test after it stops). Misses are counted apart: those packets would have gone to a
// handler, not through a flow. Plain JavaScript: workers cannot start from .ts on Node 20.
import { workerData, parentPort } from 'node:worker_threads';
import { FlowTable } from '@tsvs/dpif';
import { FLOW_WORDS } from '@tsvs/packet';

const { tableSab, keysSab, hitsSab, ctlSab, nKeys, pmdId } = workerData;
const table = FlowTable.attach(tableSab);
const keys = new Uint32Array(keysSab);
const hits = new Float64Array(hitsSab); // [k] hits of key k; [nKeys] misses
const ctl = new Int32Array(ctlSab); // [0] stop, [1] bursts done
const pmd = table.openPmd(pmdId);
const nap = new Int32Array(new SharedArrayBuffer(4));

let k = 0;
let bursts = 0;
while (Atomics.load(ctl, 0) === 0) {
  const now = performance.timeOrigin + performance.now();
  for (let i = 0; i < 32; i++) {
    const e = pmd.lookup(keys, k * FLOW_WORDS);
    if (e >= 0) {
      table.statsAdd(e, pmdId, 1, 64, 0, now);
      hits[k] += 1;
    } else {
      hits[nKeys] += 1;
    }
    k = k + 1 === nKeys ? 0 : k + 1;
  }
  pmd.quiesce();
  bursts++;
  Atomics.store(ctl, 1, bursts);
  // Two shared cores: sleep a little every few bursts (offline, as a PMD with nothing to do).
  if ((bursts & 7) === 0) {
    pmd.offline();
    Atomics.wait(nap, 0, 0, 1);
    pmd.online();
  }
}
pmd.offline();
parentPort.postMessage({ bursts });
