/**
 * The daemon's threads carry Open vSwitch's names (lib/ovs-thread.c: kind and thread serial;
 * lib/dpif-netdev.c: "pmd-c<core>/id:<serial>"), so that top -H, ps -L and perf tell them apart:
 * one pmd-cNN per PMD (NN its id), handlerN, revalidatorN, dp_clockN. They follow `tsvs set
 * threads`. Read from /proc/PID/task/TID/comm.
 */
import { expect } from 'chai';
import { cleanupAll, Daemon, PREFIX, threadNames } from './helpers.js';

/** Thread names of the daemon matching `re`, sorted. */
function named(d: Daemon, re: RegExp): string[] {
  return threadNames(d.pid()).filter((n) => re.test(n)).sort();
}

/** Waits (up to 5 s) until `f` holds: a stopped worker's OS thread may outlive the reply by a moment. */
async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !f(); i++) await new Promise((r) => setTimeout(r, 100));
}

describe('system: thread names as in OVS', function () {
  this.timeout(60_000);
  let d: Daemon;

  before(() => {
    d = new Daemon(`${PREFIX}brt`);
    d.start(['--pmd-threads', '2', '--handler-threads', '1', '--revalidator-threads', '1']);
  });
  after(() => cleanupAll());

  it('names every PMD, handler, revalidator and the datapath clock', () => {
    const pmds = named(d, /^pmd-c\d\d\/id:\d+$/);
    expect(pmds.map((n) => n.slice(0, 7)), pmds.join(' ')).to.deep.equal(['pmd-c00', 'pmd-c01']);
    expect(named(d, /^handler\d+$/)).to.have.length(1);
    expect(named(d, /^revalidator\d+$/)).to.have.length(1);
    expect(named(d, /^dp_clock\d+$/)).to.have.length(1);
  });

  it('names follow `tsvs set threads`', async () => {
    d.ok(['set', 'threads', '--pmd', '3', '--handlers', '2']);
    await until(() => named(d, /^pmd-c/).length === 3);
    expect(named(d, /^pmd-c/).map((n) => n.slice(0, 7))).to.deep.equal(['pmd-c00', 'pmd-c01', 'pmd-c02']);
    expect(named(d, /^handler\d+$/)).to.have.length(2);
    d.ok(['set', 'threads', '--pmd', '1', '--handlers', '1']);
    await until(() => named(d, /^pmd-c/).length === 1 && named(d, /^handler/).length === 1);
    expect(named(d, /^pmd-c/).map((n) => n.slice(0, 7))).to.deep.equal(['pmd-c00']);
    expect(named(d, /^handler\d+$/)).to.have.length(1);
  });
});
