/**
 * The daemon's PMD threads run at nice -20 (PMD_NICE in apps/vswitchd src/switch/plugin.ts) with
 * a 100 µs EEVDF slice while they sleep (PMD_WAKE_SLICE_US), each having set its own; every other
 * thread keeps the process's nice and the default slice. Read from /proc/PID/task/TID/stat (field
 * 19) and /proc/PID/task/TID/sched (se.slice). Root only (raising a nice value needs CAP_SYS_NICE).
 */
import { expect } from 'chai';
import { cleanupAll, customSlices, Daemon, PREFIX, requireRoot, threadNices, threadSlices } from './helpers.js';

describe('system: PMD threads raise their own priority (root)', function () {
  this.timeout(60_000);
  let d: Daemon;

  before(function () {
    requireRoot(this);
    d = new Daemon(`${PREFIX}brn`);
    d.start(['--pmd-threads', '2']);
  });
  after(() => cleanupAll());

  it('two PMDs at nice -20, every other thread at the process\'s nice', () => {
    const nices = threadNices(d.pid()).map(([, n]) => n);
    expect(nices.filter((n) => n === -20), `nices ${nices.join(' ')}`).to.have.length(2);
    expect(nices.filter((n) => n !== -20 && n !== 0)).to.deep.equal([]);
  });

  it('the two PMDs, idle, have a 100 µs slice; every other thread the default', function () {
    const slices = threadSlices(d.pid());
    if (slices === null || !customSlices()) this.skip(); // no se.slice in /proc, or a kernel before 6.12
    const pmds = new Set(threadNices(d.pid()).filter(([, n]) => n === -20).map(([tid]) => tid));
    expect(slices!.filter(([tid]) => pmds.has(tid)).map(([, s]) => s)).to.deep.equal([100_000, 100_000]);
    const others = slices!.filter(([tid]) => !pmds.has(tid)).map(([, s]) => s);
    expect(others.filter((s) => s === 100_000), `slices ${others.join(' ')}`).to.deep.equal([]);
  });

  it('a PMD added by `set threads` takes it too, and a removed one takes it away', async () => {
    const atMinus20 = (): number => threadNices(d.pid()).filter(([, n]) => n === -20).length;
    d.ok(['set', 'threads', '--pmd', '3']);
    expect(atMinus20()).to.equal(3);
    d.ok(['set', 'threads', '--pmd', '1']);
    // A stopped worker's OS thread may outlive the reply by a moment.
    for (let i = 0; i < 50 && atMinus20() !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect(atMinus20()).to.equal(1);
  });
});
