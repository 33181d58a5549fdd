/**
 * The flow limit with real threads (OVS should_install_flow): at or above the limit a miss is still
 * translated and forwarded, but no flow is installed; below it flows are installed again. The
 * counts are the handler's (`flow_limit`); the PMD's "miss with failed upcall" keeps meaning "the
 * upcall could not be queued" (it stays 0 here).
 */
import { expect } from 'chai';
import { memPort, openBridge, uniqueFrame, waitFor, type Bridge } from './helpers.js';

describe('slow path: flow limit', function () {
  this.timeout(60000);
  let br: Bridge | null = null;
  after(async () => br?.close());

  it('at the limit misses are executed, not installed; under it flows are installed again', async () => {
    br = await openBridge(['A', 'X'], {}, { handlers: 1, revalidators: 1 });
    const { dp, ofp, port } = br;
    ofp.addFlows(['priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop', 'priority=10,in_port=A,actions=output:X']);
    await ofp.syncHandlers();
    // Pause the revalidators so that no round clamps the limit back to [1000, flow-limit].
    await ofp.revalidatorPause();
    ofp.setFlowLimit(5);
    const frames = Array.from({ length: 20 }, (_, i) => uniqueFrame(1, i));
    memPort(dp, port.A!).inject(frames);
    await waitFor(() => memPort(dp, port.X!).stats().tx_packets === 20, 5000, 'all 20 forwarded');
    expect(dp.stats().flows).to.equal(5);
    const a = ofp.handlerStats().ports.find((p) => p.portNo === port.A)!;
    expect(a.counters).to.include({ miss: 20, installed: 5, flow_limit: 15, handled: 20, failed: 0 });
    expect(dp.totals().lost).to.equal(0);
    expect(ofp.upcallShowData().flows.limit).to.equal(5);

    // The limit frees up: the same frames get their flows now.
    ofp.revalidatorResume();
    await ofp.revalidatorWait();
    expect(ofp.upcallShowData().flows.limit).to.be.at.least(1000);
    memPort(dp, port.A!).inject(frames);
    await waitFor(() => memPort(dp, port.X!).stats().tx_packets === 40, 5000, 'the 20 again');
    await waitFor(() => dp.stats().flows === 20, 5000, 'the 15 missing flows installed');
    // Rule stats: every packet credited once (15 executed-only packets by the handler, all others too).
    await ofp.revalidatorWait();
    expect(ofp.dumpFlows('in_port=A')[0]).to.contain('n_packets=40,');
  });
});
