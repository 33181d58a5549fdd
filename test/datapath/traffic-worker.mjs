// Traffic source for the datapath system tests: injects frames into a port's rxqs from its own
// thread (as a NIC would fill them), round-robin over the rxqs, `burst` frames per rxq per round,
// pausing `pauseMs` between rounds, until ctl[0] becomes nonzero. Posts { accepted, offered }.
import { workerData, parentPort } from 'node:worker_threads';
import { attachNetdev } from '@tsvs/netdev';

const { netdev: desc, frames, burst, pauseMs, ctl } = workerData;
const stop = new Int32Array(ctl);
const nd = attachNetdev(desc);
const batches = [];
for (let i = 0; i < frames.length; i += burst) {
  const b = [];
  for (let j = 0; j < burst; j++) b.push(frames[(i + j) % frames.length]);
  batches.push(b);
}
let accepted = 0, offered = 0, next = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
while (Atomics.load(stop, 0) === 0) {
  for (let q = 0; q < nd.nRxq; q++) {
    const b = batches[next++ % batches.length];
    offered += b.length;
    accepted += nd.inject(b, q);
  }
  if (pauseMs > 0) Atomics.wait(pause, 0, 0, pauseMs);
}
nd.close();
parentPort.postMessage({ accepted, offered });
