// Raw frame I/O for packages/netdev/test/system*.test.ts, run in a child process, usually inside a
// network namespace (`ip netns exec NS node system-raw.mjs ...`), through the addon's plain calls.
//   send IF           stdin: {"frames": [hex...]}; sends them in order (batches of 64) from a
//                     tx-only socket; stdout: {"sent": n, "errors": e, "drops": d}
//   recv IF N MS      receives (all frames, ignoring outgoing) until N frames or MS ms of silence
//                     after "ready" is printed; stdout: "ready\n" then {"frames": [hex...]}
//   open IF TAP       tries to open a system port on IF and an internal port TAP, prints each outcome
//                     (used without privileges: the errors must be one clear line each)
import { readFileSync } from 'node:fs';
import { createNetdev, nativeNetdev, NetdevError } from '@tsvs/netdev';
import { PacketPool } from '@tsvs/shm';

const [mode, ifname, nArg, msArg] = process.argv.slice(2);

function send() {
  const a = nativeNetdev();
  const frames = JSON.parse(readFileSync(0, 'utf8')).frames.map((h) => Buffer.from(h, 'hex'));
  const fd = a.openTx(ifname);
  const data = new Uint8Array(64 * 2048), offs = new Int32Array(64), lens = new Int32Array(64), res = new Int32Array(4);
  let sent = 0, errors = 0, drops = 0;
  for (let i = 0; i < frames.length; i += 64) {
    const k = Math.min(64, frames.length - i);
    for (let j = 0; j < k; j++) {
      data.set(frames[i + j], j * 2048);
      offs[j] = j * 2048;
      lens[j] = frames[i + j].length;
    }
    sent += a.send(fd, data, offs, lens, k, res);
    errors += res[0];
    drops += res[1];
  }
  a.close(fd);
  process.stdout.write(JSON.stringify({ sent, errors, drops }) + '\n');
}

function recv() {
  const a = nativeNetdev();
  const want = Number(nArg), quietMs = Number(msArg);
  const [fd] = a.openRx(ifname, -1, 4 << 20);
  process.stdout.write('ready\n');
  const data = new Uint8Array(64 * 10000), offs = new Int32Array(64), lens = new Int32Array(64);
  const fds = Int32Array.of(fd), rev = new Int32Array(1);
  const frames = [];
  while (frames.length < want) {
    for (let j = 0; j < 64; j++) offs[j] = 64 + j * 10000;
    const k = a.recv(fd, data, offs, lens, 64, 9900);
    for (let j = 0; j < k; j++) frames.push(Buffer.from(data.subarray(offs[j], offs[j] + lens[j])).toString('hex'));
    if (k === 0 && a.poll(fds, 1, quietMs, rev) === 0) break;
  }
  a.close(fd);
  process.stdout.write(JSON.stringify({ frames }) + '\n');
}

function open() {
  const pool = PacketPool.create({ nBufs: 64 });
  for (const type of ['system', 'internal']) {
    try {
      createNetdev({ name: type === 'system' ? ifname : nArg, type }, { pool }).destroy();
      process.stdout.write(`${type}: opened\n`);
    } catch (e) {
      process.stdout.write(`${type}: ${e instanceof NetdevError ? 'NetdevError' : 'other'}: ${e.message}\n`);
    }
  }
  process.stdout.write('alive\n');
}

({ send, recv, open })[mode]();
