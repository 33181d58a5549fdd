/**
 * SenderCpu (src/pmd/sender-cpu.ts) driven wake-up by wake-up in a worker thread, with the real
 * addon: the affinity each one leaves the thread with, read from /proc/thread-self/status. Two rxqs
 * in fanout=cpu mode (stride 2). Linux, 2 CPUs or more.
 */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { cpusOf, listOf, ownCpuList } from '../../netdev/test/cpu-list.js';

const MODULE = new URL('../dist/pmd/sender-cpu.js', import.meta.url).href;

/** `body` in a new worker with a SenderCpu `s`, `wake(rxq, lone, stride = 2)` and `own()`. */
function inWorker(body: string): Promise<unknown> {
  const src = `const { parentPort } = require('node:worker_threads'); const fs = require('node:fs');
    const own = () => /^Cpus_allowed_list:\\s*(\\S+)/m.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'))[1];
    import(${JSON.stringify(MODULE)}).then(({ SenderCpu, EXCLUDE_WINDOW }) => {
      const s = new SenderCpu();
      const wake = (rxq, lone, stride = 2) => { s.seen(rxq, stride); s.beforeSleep(lone); };
      ${body}
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true });
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

describe('dpif/pmd: SenderCpu, where a PMD sleeps (real addon, worker thread)', () => {
  const own = ownCpuList();
  const cpus = cpusOf(own);
  /** The thread's affinity with c % 2 === parity (on) or !== parity (off); its own if none is left. */
  const on = (parity: number): string => listOf(cpus.filter((c) => c % 2 === parity)) || own;
  const off = (parity: number): string => listOf(cpus.filter((c) => c % 2 !== parity)) || own;

  it('follows a lone frame, keeps off a frame after a short sleep, and moves only on a majority of a window', async function () {
    if (cpus.length < 2) this.skip(); // one CPU: every affinity is the same
    const r = (await inWorker(`const out = [];
      wake(1, true); out.push(own());                                              // lone from rxq 1: on its CPUs
      wake(1, false); out.push(own());                                             // short sleep: off them
      for (let i = 0; i < EXCLUDE_WINDOW - 1; i++) wake(0, false); out.push(own()); // a window less one from rxq 0
      wake(0, false); out.push(own());                                             // the window full: off rxq 0's
      for (let i = 0; i < EXCLUDE_WINDOW; i++) wake(i % 2, false); out.push(own()); // half and half: no majority
      wake(0, false, 0); out.push(own());                                          // short, not fanout=cpu: kept
      wake(0, true, 0); out.push(own());                                           // lone, not fanout=cpu: its own
      parentPort.postMessage(out);`)) as string[];
    expect(r).to.deep.equal([on(1), off(1), off(1), off(0), off(0), off(0), own]);
  });

  it('with no frame since the last sleep changes nothing; release gives the thread its own affinity back', async function () {
    if (cpus.length < 2) this.skip();
    const r = (await inWorker(`const out = [];
      wake(0, false); out.push(own());
      s.beforeSleep(false); s.beforeSleep(true); out.push(own());
      s.release(); out.push(own());
      parentPort.postMessage(out);`)) as string[];
    expect(r).to.deep.equal([off(0), off(0), own]);
  });
});
