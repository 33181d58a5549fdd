/**
 * PMD worker thread entry (compiled to dist/pmd/pmd-worker.js; `PmdThread` starts it).
 * workerData is a `PmdInit`. The thread runs `PmdLoop.run` until told to quit; it returns to the
 * event loop only for requests that need it (a probe's GC count), then resumes.
 */
import { getPriority } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import type { PmdEvent, PmdInit, PmdReply, PmdRequest } from './pmd-messages.js';
import { PmdLoop } from './pmd-loop.js';
import { nameThread, nativeNetdev } from '@tsvs/netdev';

const init = workerData as PmdInit;
// OVS's PMD thread name (lib/dpif-netdev.c): core id (tsvs's PMD id), then the thread serial.
nameThread(`pmd-c${String(init.pmdId).padStart(2, '0')}/id:${threadId}`);
const parent = parentPort!;
let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});
gcObserver.observe({ entryTypes: ['gc'] });

function post(m: PmdReply | PmdEvent): void {
  parent.postMessage(m);
}

let loop: PmdLoop;
try {
  loop = new PmdLoop(init, {
    receive: () => receiveMessageOnPort(init.ctlPort)?.message as PmdRequest | undefined,
    reply: post,
    gcCount: () => gcCount,
  });
} catch (e) {
  post({ event: 'fatal', pmdId: init.pmdId, message: (e as Error).message });
  throw e;
}
/**
 * The thread's own nice value and wake-up slice (PmdInit.nice, wakeSliceUs). Why: a PMD that
 * sleeps in poll(2) between packets must run as soon as the kernel wakes it; at the nice of the
 * hosts' processes and of the daemon's other threads (V8's compiler and GC helpers run for
 * milliseconds) it waits behind them, and with the default slice it may still wait for the running
 * thread's slice to end.
 */
function applyNice(): string | undefined {
  if (init.nice === null) return undefined;
  let r: number;
  try {
    // On Linux getpriority(PRIO_PROCESS, 0) is the calling thread's: what the thread had so far.
    const before = getPriority();
    const addon = nativeNetdev();
    const sliceNs = init.wakeSliceUs * 1000;
    r = addon.threadSched(init.nice, sliceNs);
    if (r === 0) loop.setSchedLevels(init.nice, sliceNs, before, addon);
  } catch {
    return 'ENOENT';
  }
  return r === 0 ? undefined : r === -13 ? 'EACCES' : r === -1 ? 'EPERM' : `errno ${-r}`;
}
const niceErrno = applyNice();
post(niceErrno === undefined ? { event: 'ready', pmdId: init.pmdId } : { event: 'ready', pmdId: init.pmdId, niceErrno });

function step(): void {
  let r;
  try {
    r = loop.run();
  } catch (e) {
    post({ event: 'fatal', pmdId: init.pmdId, message: (e as Error).stack ?? String(e) });
    throw e;
  }
  if (r === 'yield') {
    // Let the event loop deliver what is pending (GC observer entries), then answer and go on.
    setTimeout(() => {
      const req = loop.takeYieldRequest();
      if (req !== null && req.op === 'probe') post({ seq: req.seq, probe: loop.probe(gcCount) });
      step();
    }, 5);
  } else {
    gcObserver.disconnect();
    init.ctlPort.close();
  }
}
step();

