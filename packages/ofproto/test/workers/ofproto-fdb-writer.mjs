// A writer thread for the shared MAC table tests: `mode` 'learn' learns MACs base..base+n-1 on
// `port` (VLAN 0) `rounds` times; 'flap' moves MAC 1 between ports a and b until told to stop
// (ctl[0] = 1), counting its moves in ctl[1]. Plain JavaScript: workers cannot start from .ts.
import { workerData, parentPort } from 'node:worker_threads';
import { SharedMacTable } from '@tsvs/ofproto/fdb-shared/index';

const { sab, mode, base, n, port, rounds, a, b, ctlSab } = workerData;
const t = SharedMacTable.attach(sab);
if (mode === 'learn') {
  for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) t.update(0, 0, base + i, port);
  parentPort.postMessage('done');
} else {
  const ctl = new Int32Array(ctlSab);
  let moves = 0;
  parentPort.postMessage('started');
  // A tick clock would make update() refuse same-second refreshes; moves always write.
  while (Atomics.load(ctl, 0) === 0) {
    t.update(0, 0, 1, moves & 1 ? b : a);
    moves++;
  }
  Atomics.store(ctl, 1, moves);
  parentPort.postMessage('done');
}
