// A handler core for the race test: serves only producer `ring`'s rings of a port's upcall queue (the
// test gives two such threads the two rings of one port, as OVS lets several handlers read one
// port), and runs rounds until ctl[0] is set. Plain JavaScript: workers cannot start from .ts.
import { workerData, parentPort } from 'node:worker_threads';
import { HandlerCore } from '@tsvs/ofproto/handler/index';

const { init, queue, ring, ctlSab } = workerData;
const ctl = new Int32Array(ctlSab);
const core = new HandlerCore(init);
core.attach({ ...queue, rings: [queue.rings[ring]], actionRings: [queue.actionRings[ring]] });
const nap = new Int32Array(new SharedArrayBuffer(4));
parentPort.postMessage('started');
// Start together: ctl[1] is the starting gun.
while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 100);
while (Atomics.load(ctl, 0) === 0) {
  if (core.round() === 0) Atomics.wait(nap, 0, 0, 1);
}
core.close();
parentPort.postMessage('done');
