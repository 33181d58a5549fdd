/**
 * The fd watcher thread (see watcher.ts): waits on the epoll set, rings the doorbell bound to each
 * rxq whose fd fired. Registrations arrive as messages, read synchronously after every wait (the
 * owner posts a registration before adding its fd to the set, so a fired token is always known).
 */
import { receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { DoorbellBank } from '@tsvs/shm';
import { nativeNetdev } from './addon.js';
import { nameThread } from './thread-name.js';
import type { WatcherMessage } from './watcher.js';

const { epfd, port } = workerData as { epfd: number; stopFd: number; port: MessagePort };
const a = nativeNetdev();
nameThread(`watcher${threadId}`);
const STOP = 0; // WATCHER_STOP_TOKEN
// Bounded wait: a process that exits without stopping the watcher joins this thread after it returns.
const WAIT_MS = 100;

interface Entry { ctl: Int32Array; word: number; bank: DoorbellBank }
const entries = new Map<number, Entry>();
const banks = new Map<SharedArrayBuffer, DoorbellBank>();
const tokens = new Int32Array(64);

function apply(m: WatcherMessage): void {
  if (m.op === 'del') {
    entries.delete(m.token);
    return;
  }
  let bank = banks.get(m.bank);
  if (!bank) banks.set(m.bank, (bank = DoorbellBank.attach(m.bank)));
  entries.set(m.token, { ctl: new Int32Array(m.ctl), word: m.word, bank });
}

for (let running = true; running;) {
  const n = a.epollWait(epfd, tokens, tokens.length, WAIT_MS);
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) apply(m.message as WatcherMessage);
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    if (t === STOP) {
      running = false;
      continue;
    }
    const e = entries.get(t);
    if (!e) continue;
    const slot = Atomics.load(e.ctl, e.word);
    if (slot >= 0) e.bank.ring(slot);
  }
}
port.close();
