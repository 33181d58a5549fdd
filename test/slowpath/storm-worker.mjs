// A MISS storm for the slow-path tests: injects Ethernet/IPv4/UDP frames into rxq `rxq` of a
// memory port as fast as it can, every frame with a new source MAC and source IP (so each one
// needs its own datapath flow), until ctl[0] is set. Counts frames offered (ctl f64[1]) and
// accepted by the port (f64[2]). `dstMac` and `dport` fixed. Plain JavaScript: workers cannot
// start from .ts files on Node 20.
import { workerData, parentPort } from 'node:worker_threads';
import { PacketPool } from '@tsvs/shm';
import { attachNetdev } from '@tsvs/netdev';

const { netdev, pool, rxq, ctlSab, dstMac, dport, macBase } = workerData;
const nd = attachNetdev(netdev, PacketPool.attach(pool));
const ctl = new Int32Array(ctlSab);
const cnt = new Float64Array(ctlSab);

function frame(i) {
  const f = new Uint8Array(64);
  f.set(dstMac, 0);
  f.set([0x06, macBase, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255], 6);
  f[12] = 0x08;
  const dv = new DataView(f.buffer);
  f.set([0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0], 14);
  dv.setUint32(26, (0x0b000000 + i) >>> 0);
  dv.setUint32(30, 0x0a000002);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += dv.getUint16(k);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  dv.setUint16(24, ~sum & 0xffff);
  dv.setUint16(34, 1000);
  dv.setUint16(36, dport);
  dv.setUint16(38, 30);
  return f;
}

parentPort.postMessage('started');
let i = 1;
const batch = new Array(32);
while (Atomics.load(ctl, 0) === 0) {
  for (let k = 0; k < 32; k++) batch[k] = frame(i++);
  cnt[1] += 32;
  cnt[2] += nd.inject(batch, rxq);
}
nd.close();
parentPort.postMessage('done');
