import { expect } from 'chai';
import { FlowTable } from '@tsvs/dpif';
import { Revalidators, SIMPLE_TRANSLATOR_MODULE, type UpcallShowData } from '@tsvs/ofproto/revalidator/index';
import { formatUpcallShow, formatUpcallShowOvs, upcallShowJson } from '@tsvs/ofproto/upcall-show/index';
import { Harness, mkKey, sleep } from './revalidator-helpers.js';

/** `ovs-appctl upcall/show` of OVS 3.1.0 (Debian 12 package), userspace datapath, one revalidator, no flows. */
const OVS_UPCALL_SHOW = 'netdev@ovs-netdev:\n'
  + '  flows         : (current 0) (avg 0) (max 0) (limit 10000)\n'
  + '  dump duration : 1ms\n'
  + '  ufid enabled : true\n'
  + '\n'
  + '  5: (keys 0)\n';

function data(over: Partial<UpcallShowData> = {}): UpcallShowData {
  return {
    dpName: 'netdev@ovs-netdev', flows: { current: 0, avg: 0, max: 0, limit: 10000 }, dumpDurationMs: 1, ufidEnabled: true,
    revalidators: [{ id: 5, keys: 0, dumped: 0, swept: 0 }], rounds: 0,
    deleted: { idle: 0, revalidation: 0, flow_limit: 0, purge: 0 }, deletedByReason: {}, modified: 0, kept: 0,
    lastRoundMs: 0, maxRoundMs: 0, counters: {
      dumped: 0, swept: 0, kept: 0, modified: 0, deleted: {} as never, retranslated: 0, adopted: 0, contention: 0, duplicate: 0,
      removed: 0, opErrors: 0, creditedPackets: 0, creditedBytes: 0,
    },
    flowLimitMax: 200000, ukeys: 0, paused: false, failedRounds: 0, ...over,
  };
}

describe('ofproto/upcall-show: format', () => {
  it('prints OVS 3.1 upcall/show byte for byte, then the tsvs additions', () => {
    expect(formatUpcallShowOvs(data())).to.equal(OVS_UPCALL_SHOW);
    const d = data({
      flows: { current: 12, avg: 7, max: 30, limit: 11000 }, dumpDurationMs: 3,
      revalidators: [{ id: 5, keys: 7, dumped: 40, swept: 20 }, { id: 6, keys: 5, dumped: 2, swept: 12 }],
      rounds: 9, deleted: { idle: 3, revalidation: 1, flow_limit: 0, purge: 2 }, modified: 4, kept: 77, lastRoundMs: 3, maxRoundMs: 12,
    });
    expect(formatUpcallShow(d)).to.equal(
      'netdev@ovs-netdev:\n'
      + '  flows         : (current 12) (avg 7) (max 30) (limit 11000)\n'
      + '  dump duration : 3ms\n'
      + '  ufid enabled : true\n'
      + '\n'
      + '  5: (keys 7)\n'
      + '  6: (keys 5)\n'
      + '\n'
      + '  rounds        : 9\n'
      + '  deleted       : (idle 3) (revalidation 1) (flow limit 0) (purge 2)\n'
      + '  modified      : 4\n'
      + '  kept          : 77\n'
      + '  round time    : (last 3ms) (max 12ms)\n',
    );
    const j = upcallShowJson(d);
    expect(j).to.deep.include({ datapath: 'netdev@ovs-netdev', dump_duration_ms: 3, ufid_enabled: true, rounds: 9, modified: 4, kept: 77 });
    expect(j.flows).to.deep.equal({ current: 12, avg: 7, max: 30, limit: 11000 });
    expect(j.round_ms).to.deep.equal({ last: 3, max: 12 });
    expect(JSON.parse(JSON.stringify(j))).to.deep.equal(j);
  });
});

describe('ofproto/revalidator: threads (sharding, resizing, pause/resume/wait)', function () {
  this.timeout(40000);
  let h: Harness | null = null;
  afterEach(async () => {
    if (h) await h.stop();
    h = null;
  });

  it('K=2: both threads pull batches of the one dump, each flow is judged once per round, each sweeps its own umaps; K=1 ⇄ K=2 keeps every ukey', async () => {
    h = await Harness.start({ nThreads: 2, capacity: 8192 });
    const N = 5000;
    h.apply(['ip,actions=output:3']);
    // 5000 megaflows: in_port is always exact in a datapath flow.
    for (let k = 0; k < N; k++) expect(h.install(mkKey({ inPort: 1 + k })).status).to.equal('installed');
    expect(h.flows.flowCount).to.equal(N);
    const rounds = 4;
    for (let i = 0; i < rounds; i++) await h.round();
    let s = h.rv.show();
    expect(s.revalidators).to.have.length(2);
    expect(s.revalidators[0]!.id).to.not.equal(s.revalidators[1]!.id);
    expect(s.counters.dumped).to.equal(N * rounds); // every flow once per round, none twice
    expect(s.counters.duplicate).to.equal(0);
    expect(s.kept).to.equal(N * rounds);
    expect(s.revalidators[0]!.dumped + s.revalidators[1]!.dumped).to.equal(N * rounds);
    expect(s.revalidators[0]!.dumped, 'thread 0 took batches').to.be.greaterThan(0);
    expect(s.revalidators[1]!.dumped, 'thread 1 took batches').to.be.greaterThan(0);
    const keys = s.revalidators.map((r) => r.keys);
    expect(keys[0]! + keys[1]!).to.equal(N);
    expect(keys[0]).to.be.greaterThan(N / 4);
    expect(keys[1]).to.be.greaterThan(N / 4);
    // The sweep is sharded: thread i visits exactly the ukeys of umaps i, i+2, ...
    expect(s.revalidators[0]!.swept).to.equal(keys[0]! * rounds);
    expect(s.revalidators[1]!.swept).to.equal(keys[1]! * rounds);
    expect(formatUpcallShow(s)).to.match(new RegExp(`\\n  ${s.revalidators[0]!.id}: \\(keys ${keys[0]}\\)\\n  ${s.revalidators[1]!.id}: \\(keys ${keys[1]}\\)\\n`));

    await h.rv.setThreads(1);
    await h.round();
    s = h.rv.show();
    expect(s.revalidators).to.have.length(1);
    expect(s.revalidators[0]!.keys).to.equal(N);
    expect(s.revalidators[0]!.dumped).to.equal(N);
    expect(s.revalidators[0]!.swept).to.equal(N);
    expect(h.flows.flowCount).to.equal(N);
    expect(s.kept).to.equal(N * (rounds + 1));

    // New threads get the tables as of now: a change after the resize is followed.
    await h.rv.setThreads(2);
    h.apply(['ip,actions=output:4'], 'modify_strict');
    await h.round();
    s = h.rv.show();
    expect(s.modified).to.equal(N); // every flow goes through the catch-all rule
    expect(h.rv.ukeys.count).to.equal(N);
    expect(s.deleted).to.deep.equal({ idle: 0, revalidation: 0, flow_limit: 0, purge: 0 });
  });

  it('timed rounds every max-revalidator ms; pause stops them, resume restarts them, wait returns after a round that started after the call', async () => {
    const flows = FlowTable.create({ capacity: 1024, maxPmds: 1 });
    const rv = await Revalidators.start({
      flowTable: flows, translator: { module: SIMPLE_TRANSLATOR_MODULE, init: {} }, tunables: { 'max-revalidator': 100 },
    });
    try {
      await sleep(450);
      const r1 = rv.rounds;
      expect(r1).to.be.within(2, 6);
      await rv.pause();
      const r2 = rv.rounds;
      await sleep(300);
      expect(rv.rounds).to.equal(r2);
      expect(rv.show().paused).to.equal(true);
      const waited = rv.wait();
      let done = false;
      void waited.then(() => { done = true; });
      await sleep(150);
      expect(done).to.equal(false); // paused: no round
      rv.resume();
      await waited;
      expect(rv.rounds).to.be.greaterThan(r2);
      const before = rv.rounds;
      await rv.wait();
      expect(rv.rounds).to.be.greaterThan(before);
      expect(rv.show().dumpDurationMs).to.be.at.least(1);
    } finally {
      await rv.stop();
    }
  });

  it('start() fails with the reason when the translator cannot load', async () => {
    const flows = FlowTable.create({ capacity: 16, maxPmds: 1 });
    let err: Error | null = null;
    try {
      await Revalidators.start({ flowTable: flows, translator: { module: 'file:///nonexistent/translator.js' } });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/failed to start: .*nonexistent/);
  });
});
