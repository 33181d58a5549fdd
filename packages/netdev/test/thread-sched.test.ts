/**
 * The addon's threadSched (sched_setattr: nice and EEVDF slice of the calling thread), in real
 * worker threads: /proc/thread-self/stat (nice, field 19) and /proc/thread-self/sched (se.slice)
 * change for that thread only. Raising the nice (here 5, then back to 5 with another slice) needs
 * no privilege; the slice is checked where the kernel takes it (6.12 and later, CONFIG_SCHED_DEBUG).
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { cpusOf, listOf, ownCpuList } from './cpu-list.js';
import { inAddonWorker } from './helpers.js';

/** `body` in a new worker, with `nice()` and `slice()` (ns, null without se.slice) of the thread. */
const inWorker = (body: string): Promise<unknown> => inAddonWorker(body, `
  const nice = () => { const s = fs.readFileSync('/proc/thread-self/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); };
  const slice = () => { try { const m = /^se\\.slice\\s*:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/thread-self/sched', 'utf8')); return m ? Number(m[1]) : null; } catch { return null; } };`);

const [maj, min] = release().split('.').map(Number);
const sliceKernel = (maj! > 6 || (maj === 6 && min! >= 12)) && existsSync('/proc/thread-self/sched');

describe('netdev/system: thread scheduling (threadSched)', () => {
  it('sets nice and slice of the calling thread only; slice 0 gives the default back', async () => {
    const mainStat = readFileSync('/proc/thread-self/stat', 'utf8');
    const r = (await inWorker(`const d = slice();
      const rc1 = a.threadSched(5, 200000); const s1 = [nice(), slice()];
      const rc2 = a.threadSched(5, 0); const s2 = [nice(), slice()];
      parentPort.postMessage({ d, rc1, s1, rc2, s2 });`)) as { d: number | null; rc1: number; s1: [number, number | null]; rc2: number; s2: [number, number | null] };
    expect([r.rc1, r.rc2]).to.deep.equal([0, 0]);
    expect([r.s1[0], r.s2[0]]).to.deep.equal([5, 5]);
    if (sliceKernel && r.d !== null) {
      expect(r.s1[1]).to.equal(200_000);
      expect(r.s2[1]).to.equal(r.d);
    }
    const field = (s: string): string => s.slice(s.lastIndexOf(')') + 2).split(' ')[16]!;
    expect(field(readFileSync('/proc/thread-self/stat', 'utf8'))).to.equal(field(mainStat));
  });

  it('refuses a nice outside -20..19 or a slice outside 0..100000000 with a RangeError, and changes nothing', async () => {
    const r = await inWorker(`const err = (f) => { try { f(); return 'none'; } catch (e) { return e.constructor.name; } };
      const before = [nice(), slice()];
      parentPort.postMessage([err(() => a.threadSched(20, 0)), err(() => a.threadSched(0, -1)), err(() => a.threadSched(0, 100000001)),
        err(() => a.threadSched('x', 0)), JSON.stringify(before) === JSON.stringify([nice(), slice()])]);`);
    expect(r).to.deep.equal(['RangeError', 'RangeError', 'RangeError', 'TypeError', true]);
  });
});

describe('netdev/system: thread affinity (cpuAffinity)', () => {
  it('pins the calling thread to the CPUs c with c % stride === first, within its first affinity; stride 0 gives that back', async function () {
    const first = ownCpuList();
    const cpus = cpusOf(first);
    if (cpus.length < 2) this.skip(); // one CPU: nothing to pin to that differs
    const [c0, c1] = [cpus[0]!, cpus[1]!];
    const r = (await inAddonWorker(`const own = () => /^Cpus_allowed_list:\\s*(\\S+)/m.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'))[1];
      const out = [];
      out.push(a.cpuAffinity(${c1}, 100000), own());
      out.push(a.cpuAffinity(${c0}, 100000), own());
      out.push(a.cpuAffinity(100001, 100002), own()); // no such CPU: its first affinity
      out.push(a.cpuAffinity(${c1}, 100000), own(), a.cpuAffinity(-1, 0), own());
      parentPort.postMessage(out);`)) as unknown[];
    expect(r).to.deep.equal([0, String(c1), 0, String(c0), 0, first, 0, String(c1), 0, first]);
    expect(ownCpuList(), 'the main thread keeps its own').to.equal(first);
  });

  it('a negative stride keeps the thread off the CPUs c with c % -stride === first; excluding all gives the first affinity back', async function () {
    const first = ownCpuList();
    const cpus = cpusOf(first);
    if (cpus.length < 2) this.skip(); // one CPU: excluding it leaves nothing
    const c0 = cpus[0]!;
    const r = (await inAddonWorker(`const own = () => /^Cpus_allowed_list:\\s*(\\S+)/m.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'))[1];
      const out = [];
      out.push(a.cpuAffinity(${c0}, -100000), own()); // every CPU but c0
      out.push(a.cpuAffinity(${c0 % 2}, -2), own()); // off c0's parity
      out.push(a.cpuAffinity(0, -1), own()); // c % 1 is 0 for all: none left
      parentPort.postMessage(out);`)) as unknown[];
    expect(r).to.deep.equal([0, listOf(cpus.filter((c) => c !== c0)), 0, listOf(cpus.filter((c) => c % 2 !== c0 % 2)) || first, 0, first]);
  });
});
