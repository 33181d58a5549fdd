/**
 * The revalidation sequence a handler records in the ukeys it installs (OVS upcall->reval_seq,
 * read before translating): the control plane posts a replica update, moves the handler's ctl
 * word, then the sequence. A handler that reads the sequence while a request is still pending may
 * translate with a replica that lacks the change that sequence counts, so it must record an
 * older one (the revalidators then re-translate the flow); with nothing pending, the current one.
 * A handler core in this thread (its worker sets `controlPending` from its ctl word).
 */
import { expect } from 'chai';
import { Datapath, formatUfid } from '@tsvs/dpif';
import { UkeyTable } from '@tsvs/ofproto';
import type { HandlerCore } from '@tsvs/ofproto/handler/index';
import { coreDatapath, coreHandler, memPort, uniqueFrame, waitFor } from './helpers.js';

describe('slow path: the revalidation sequence a handler records', function () {
  this.timeout(30000);
  let dp: Datapath | null = null;
  let core: HandlerCore | null = null;
  afterEach(async () => {
    core?.close();
    core = null;
    await dp?.close();
    dp = null;
  });

  it('is the current one, or one less while a control request is pending', async () => {
    const c = await coreDatapath();
    dp = c.dp;
    const { p } = c;
    const ukeys = UkeyTable.create({ capacity: 1024 });
    for (let i = 0; i < 5; i++) ukeys.bumpRevalSeq();
    const seq = ukeys.revalSeq;
    const h = coreHandler(c, ['actions=NORMAL'], { ukeys });
    core = h;
    /** Sends a packet of a new megaflow (NORMAL: a new source MAC) through the handler; returns the reval seq of the ukey it installed. */
    const installed = new Set<string>();
    const oneFlow = async (i: number): Promise<number> => {
      expect(memPort(dp!, p).inject([uniqueFrame(7, i)])).to.equal(1);
      await waitFor(() => dp!.upcallStats(p).pending === 1, 20000, 'the miss queued');
      expect(h.round()).to.equal(1);
      const d = dp!.flowDump();
      for (let b = d.next(50); b.length > 0; b = d.next(50)) {
        for (const f of b) {
          const id = formatUfid(f.ufid);
          if (installed.has(id)) continue;
          installed.add(id);
          const u = ukeys.lookupLock(f.ufid);
          expect(u, 'the ukey of the new flow').to.be.at.least(0);
          const s = ukeys.revalSeqOf(u);
          ukeys.unlock(u);
          return s;
        }
      }
      throw new Error('no new flow');
    };
    expect(await oneFlow(1), 'nothing pending').to.equal(seq);
    h.controlPending = () => true;
    expect(await oneFlow(2), 'a request pending').to.equal(seq - 1);
    h.controlPending = () => false;
    expect(await oneFlow(3), 'applied').to.equal(seq);
  });
});
