// A handler-like reader in its own thread: attaches a port's upcall queue from its descriptor,
// sleeps on its own doorbell between upcalls, reads `want` upcalls, checks each record against
// its packet, frees the buffers. Posts { got, inPorts, dsts, bad, wakeups }.
import { workerData, parentPort } from 'node:worker_threads';
import { UpcallReader } from '@tsvs/dpif';
import { DoorbellBank } from '@tsvs/shm';
import { W_IN_PORT, W_NW_DST } from '@tsvs/packet';

const { queue, bank: bankSab, slot, want } = workerData;
const reader = UpcallReader.attach(queue);
const bank = DoorbellBank.attach(bankSab);
reader.bindDoorbell(slot);
parentPort.postMessage({ ready: true });
const ids = new Uint32Array(64);
let got = 0, bad = 0, wakeups = 0;
const inPorts = new Set(), dsts = [];
const deadline = Date.now() + 15000;
while (got < want && Date.now() < deadline) {
  const n = reader.recv(ids);
  if (n === 0) {
    const seq = bank.prepareSleep(slot);
    if (reader.isEmpty()) {
      if (bank.sleep(slot, seq, 1000) !== 'timed-out') wakeups++;
    } else bank.endSleep(slot);
    continue;
  }
  for (let i = 0; i < n; i++) {
    const b = ids[i];
    const u = reader.read(b);
    inPorts.add(u.inPort);
    dsts.push(u.key[W_NW_DST]);
    const dv = new DataView(u.packet.buffer, u.packet.byteOffset);
    if (u.key[W_IN_PORT] !== u.inPort || dv.getUint32(30) !== u.key[W_NW_DST] || u.type !== 1) bad++;
    reader.pool.free(b);
  }
  got += n;
}
reader.bindDoorbell(-1);
reader.pool.flush();
parentPort.postMessage({ got, inPorts: [...inPorts], dsts, bad, wakeups });
