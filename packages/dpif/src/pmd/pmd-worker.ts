/**
 * PMD worker thread entry (compiled to dist/pmd/pmd-worker.js; `PmdThread` starts it).
 * workerData is a `PmdInit`. The thread runs `PmdLoop.run` until told to quit; it returns to the
 * event loop only for requests that need it (a probe's GC count), then resumes.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { PmdEvent, PmdInit, PmdReply, PmdRequest } from './pmd-messages.js';
import { PmdLoop } from './pmd-loop.js';

const init = workerData as PmdInit;
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
post({ event: 'ready', pmdId: init.pmdId });

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

