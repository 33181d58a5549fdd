// Worker for datapath-pmd-death.test.ts: a flow-table writer in its own thread (as a handler or
// revalidator is). Waits until ctl[0] becomes 1, deletes the flow with UFID `ufid`, and posts
// { error, ms, thrown }: the del's errno (0 = deleted), its duration in ms, and the message of an
// exception (a grace period that timed out waiting for a PMD). Plain JavaScript: workers cannot
// start from .ts files on Node 20.
import { parentPort, workerData } from 'node:worker_threads';
import { FlowTable } from '@tsvs/dpif';

const { tableSab, ctlSab, ufid } = workerData;
const table = FlowTable.attach(tableSab);
const ctl = new Int32Array(ctlSab);
parentPort.postMessage({ ready: true });
while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
const t0 = performance.now();
let error = null, thrown = null;
try {
  error = table.del(Uint32Array.from(ufid)).error;
} catch (e) {
  thrown = e instanceof Error ? e.message : String(e);
}
parentPort.postMessage({ error, thrown, ms: performance.now() - t0 });
