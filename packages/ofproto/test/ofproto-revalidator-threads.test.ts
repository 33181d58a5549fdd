/**
 * Revalidator thread supervision through the Ofproto's public API (what the daemon's supervisor
 * uses): `crashRevalidator` kills a real revalidator thread (uncaught exception or terminate()),
 * `onRevalidatorThreadEvent` reports the death and the replacement once each, the replacement takes
 * the same slot at once — without a round to trigger it (no timer, revalidators paused) — and the
 * new threads do real work afterwards (a purge through both slots deletes every flow).
 */
import { expect } from 'chai';
import { Datapath } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { Ofproto } from '@tsvs/ofproto/ofproto/index';
import { ipFrame, waitFor } from '../../dpif/test/datapath-helpers.js';

describe('Ofproto: revalidator threads that die are replaced in their slot and reported', function () {
  this.timeout(60000);
  let dp: Datapath | undefined;
  let ofp: Ofproto | undefined;
  afterEach(async () => {
    await ofp?.close();
    await dp?.close();
    ofp = dp = undefined;
  });

  it('throw and terminate: died + restarted per crash, same slot, new thread, works afterwards', async () => {
    dp = await Datapath.open({ name: 'brR', nPmds: 1, maxPmds: 2, maxSleepMs: 20, flowTable: { capacity: 4096 } });
    ofp = await Ofproto.open(dp, { handlers: 1, revalidators: 2, revalidatorTimer: false });
    const o = ofp;
    const opts = { tx_ring: 'true' };
    const p1 = (await o.addPort({ name: 'p1', type: 'memory', options: opts })).odpPort;
    const p2 = (await o.addPort({ name: 'p2', type: 'memory', options: opts })).odpPort;
    o.addFlow('in_port=p1,actions=output:p2');
    await o.syncHandlers();
    const frames = [];
    for (let i = 0; i < 20; i++) frames.push(ipFrame({ src: 0x0a000000 + i, dst: 0x0a010000 + i }));
    (dp.netdev(p1) as MemoryNetdev).inject(frames);
    const d = dp;
    await waitFor(() => d.netdev(p2).stats().tx_packets === 20, 5000, 'forwarded');
    expect(d.stats().flows).to.equal(1);

    const events: string[] = [];
    o.onRevalidatorThreadEvent((e) => events.push(`${e.type} ${e.id}`));
    const before = o.revalidatorThreads();
    expect(before.map((t) => t.id)).to.deep.equal([0, 1]);
    // Paused and without a timer: no round will start, so only the death itself can bring the replacement.
    await o.revalidatorPause();
    const victim1 = o.crashRevalidator(1, 'throw');
    expect(victim1).to.equal(before[1]!.threadId);
    await waitFor(() => events.includes('restarted 1'), 10000, 'slot 1 replaced after throw');
    const victim0 = o.crashRevalidator(0, 'terminate');
    expect(victim0).to.equal(before[0]!.threadId);
    await waitFor(() => events.includes('restarted 0'), 10000, 'slot 0 replaced after terminate');
    expect(events).to.deep.equal(['died 1', 'restarted 1', 'died 0', 'restarted 0']);
    const after = o.revalidatorThreads();
    expect(after.map((t) => t.restarts)).to.deep.equal([1, 1]);
    for (const i of [0, 1]) {
      expect(after[i]!.threadId).to.be.a('number');
      expect(after[i]!.threadId).to.not.equal(before[i]!.threadId);
    }
    expect(o.upcallShowData().revalidators.map((r) => r.id)).to.deep.equal(after.map((t) => t.threadId));

    o.revalidatorResume();
    await o.revalidatorWait();
    await o.revalidatorPurge();
    expect(d.stats().flows, 'the new threads purged the flow').to.equal(0);
    expect(o.upcallShowData().deleted.purge).to.equal(1);
    expect(events, 'nothing else reported').to.have.length(4);
    expect(() => o.crashRevalidator(2, 'throw')).to.throw(RangeError, 'revalidator 2 is not running');
  });
});
