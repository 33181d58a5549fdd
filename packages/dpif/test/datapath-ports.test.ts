/**
 * The Datapath on the control thread with real PMD worker threads: ports, flow operations,
 * forwarding through the PMD, execute, and an idle PMD's sleep and wake-up.
 */
import { expect } from 'chai';
import {
  DPIF_FP_CREATE, DPIF_FP_MODIFY, DPIF_UC_ACTION, Datapath, DpifError, UpcallReader, deriveUfid, formatOdpActions,
  parseOdpActions, ufidEqual, type FlowInfo,
} from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { W_NW_DST, W_TP } from '@tsvs/packet';
import { ipFrame, keyOf, maskOf, sleep, waitFor } from './datapath-helpers.js';

describe('datapath: ports', function () {
  this.timeout(20000);
  let dp: Datapath;
  before(async () => {
    dp = await Datapath.open({ name: 'br7', nPmds: 1, pool: { nBufs: 2048 }, flowTable: { capacity: 1024 } });
  });
  after(async () => dp.close());

  it('has the local port 0 named after the datapath, which cannot be deleted', async () => {
    expect(dp.portQueryByNumber(0)).to.include({ name: 'br7', portNo: 0 });
    expect(dp.portQueryByName('br7')!.portNo).to.equal(0);
    let err: unknown;
    try {
      await dp.portDel(0);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DpifError);
    expect((err as DpifError).message).to.match(/cannot delete the local port br7/);
    expect(dp.portQueryByNumber(0)).not.to.equal(null);
  });

  it('adds ports at the lowest free number, queries, deletes, and reuses numbers', async () => {
    const a = await dp.portAdd({ name: 'a', type: 'memory' });
    const b = await dp.portAdd({ name: 'b', type: 'memory', options: { n_rxq: '3' } });
    const c = await dp.portAdd({ name: 'c', type: 'memory', portNo: 10 });
    expect([a, b, c]).to.deep.equal([1, 2, 10]);
    expect(dp.portQueryByName('b')).to.deep.include({ portNo: 2, type: 'memory', nRxq: 3, options: { n_rxq: '3' } });
    expect(dp.portList().map((p) => p.name)).to.deep.equal(['br7', 'a', 'b', 'c']);
    // Every rxq is polled by the PMD.
    expect([...dp.rxqAssignment().keys()].sort()).to.deep.equal(['0/0', '1/0', '10/0', '2/0', '2/1', '2/2']);
    await dp.portDel(a);
    expect(dp.portQueryByNumber(a)).to.equal(null);
    expect(dp.portQueryByName('a')).to.equal(null);
    expect(dp.rxqAssignment().has('1/0')).to.equal(false);
    expect(await dp.portAdd({ name: 'a2', type: 'memory' })).to.equal(1);
    await dp.portDel(1);
    await dp.portDel(b);
    await dp.portDel(c);
    expect(dp.portList().map((p) => p.portNo)).to.deep.equal([0]);
  });

  it('rejects bad port requests with one-line errors naming the bad token', async () => {
    const reject = async (f: () => Promise<unknown>, re: RegExp, errno: string): Promise<void> => {
      let err: unknown;
      try {
        await f();
      } catch (e) {
        err = e;
      }
      expect(err, String(re)).to.be.instanceOf(DpifError);
      expect((err as DpifError).message).to.match(re);
      expect((err as DpifError).message).not.to.include('\n');
      expect((err as DpifError).errno).to.equal(errno);
    };
    await dp.portAdd({ name: 'x', type: 'memory' });
    await reject(() => dp.portAdd({ name: 'x', type: 'memory' }), /port name 'x' is in use/, 'EEXIST');
    await reject(() => dp.portAdd({ name: 'y', type: 'memory', portNo: dp.portQueryByName('x')!.portNo }), /port number \d+ is in use/, 'EEXIST');
    await reject(() => dp.portAdd({ name: 'y', type: 'warp-drive' }), /unknown port type 'warp-drive'/, 'EINVAL');
    await reject(() => dp.portAdd({ name: 'y', type: 'memory', options: { n_rxq: 'lots' } }), /bad value 'lots' for option n_rxq/, 'EINVAL');
    await reject(() => dp.portAdd({ name: 'y', type: 'memory', portNo: 5000 }), /port number 5000 out of range/, 'EFBIG');
    await reject(() => dp.portDel(77), /no port 77/, 'ENOENT');
    await dp.portDel(dp.portQueryByName('x')!.portNo);
    expect(dp.portQueryByName('y')).to.equal(null);
  });
});

describe('datapath: flows, forwarding and execute', function () {
  this.timeout(20000);
  let dp: Datapath;
  let p1: number, p2: number, p3: number;
  let rx1: MemoryNetdev, tx2: MemoryNetdev, tx3: MemoryNetdev;
  before(async () => {
    dp = await Datapath.open({
      name: 'dp1', nPmds: 1, pool: { nBufs: 4096 }, flowTable: { capacity: 1024, emcInsertInvProb: 1 }, maxSleepMs: 50,
    });
    p1 = await dp.portAdd({ name: 'p1', type: 'memory' });
    p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { tx_ring: 'true' } });
    p3 = await dp.portAdd({ name: 'p3', type: 'memory', options: { tx_ring: 'true' } });
    rx1 = dp.netdev(p1) as MemoryNetdev;
    tx2 = dp.netdev(p2) as MemoryNetdev;
    tx3 = dp.netdev(p3) as MemoryNetdev;
  });
  after(async () => dp.close());
  afterEach(() => {
    dp.flowFlush();
    tx2.txDrainFrames();
    tx3.txDrainFrames();
  });

  it('put without a UFID derives it from the masked key and mask; CREATE/MODIFY errors as OVS', () => {
    const frame = ipFrame({ dst: 0x0a000063 });
    const key = keyOf(frame, p1), mask = maskOf({ [W_NW_DST]: 0xffffffff });
    const r = dp.flowPut({ flags: DPIF_FP_CREATE, key, mask, actions: parseOdpActions(String(p2)) });
    expect(r.error).to.equal(0);
    const want = new Uint32Array(4);
    deriveUfid(key, 0, mask, 0, dp.table.secret, want, 0);
    expect(ufidEqual(r.ufid, 0, want, 0)).to.equal(true);
    expect(dp.flowPut({ flags: DPIF_FP_CREATE, key, mask, actions: parseOdpActions(String(p3)) }).error).to.equal('EEXIST');
    const other = keyOf(ipFrame({ dst: 0x0a000064 }), p1);
    expect(dp.flowPut({ flags: DPIF_FP_MODIFY, key: other, mask, actions: parseOdpActions(String(p3)) }).error).to.equal('ENOENT');
    const got = dp.flowGet(r.ufid);
    expect(got.error).to.equal(0);
    expect(formatOdpActions(got.flow!.actions)).to.equal(String(p2));
    expect(Array.from(got.flow!.mask)).to.deep.equal(Array.from(mask));
    const full = dp.flowDump().next(50) as FlowInfo[];
    expect(full).to.have.length(1);
    expect(full[0]!.key[W_NW_DST]).to.equal(0x0a000063);
    expect(dp.flowDump({ terse: true }).next(50)[0]).to.not.have.property('key');
    expect(dp.flowDel(r.ufid).error).to.equal(0);
    expect(dp.flowGet(r.ufid).error).to.equal('ENOENT');
  });

  it('forwards through the PMD with the flow actions applied and counts flow stats', async () => {
    const frame = ipFrame({ dst: 0x0a000005, proto: 6, tcpFlags: 0x02, len: 80 });
    const put = dp.flowPut({
      flags: DPIF_FP_CREATE, key: keyOf(frame, p1), mask: maskOf({ [W_NW_DST]: 0xffffffff }),
      actions: parseOdpActions(`set(eth(src=0a:0b:0c:0d:0e:0f)),${p2},set(tcp(dst=8080)),${p3}`),
    });
    expect(put.error).to.equal(0);
    const before = dp.totals();
    expect(rx1.inject(Array.from({ length: 40 }, () => frame))).to.equal(40);
    await waitFor(() => dp.totals().sent_pkts - before.sent_pkts >= 80, 5000, '80 packets sent');
    const out2 = tx2.txDrainFrames(), out3 = tx3.txDrainFrames();
    expect(out2).to.have.length(40);
    expect(out3).to.have.length(40);
    const want2 = frame.slice();
    want2.set([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f], 6);
    expect(Buffer.from(out2[0]!).toString('hex')).to.equal(Buffer.from(want2).toString('hex'));
    // The second output went after set(tcp(dst=8080)): a copy made for p3, p2's frame untouched.
    const dv3 = new DataView(out3[0]!.buffer, out3[0]!.byteOffset);
    expect(dv3.getUint16(36)).to.equal(8080);
    expect(new DataView(out2[0]!.buffer, out2[0]!.byteOffset).getUint16(36)).to.equal(53);
    expect(out3[0]!.subarray(6, 12)).to.deep.equal(want2.subarray(6, 12));
    const st = dp.flowGet(put.ufid).flow!.stats;
    expect(st).to.deep.include({ packets: 40, bytes: 40 * 80, tcpFlags: 0x02 });
    expect(st.used).to.be.closeTo(performance.timeOrigin + performance.now(), 5000);
    const t = dp.totals();
    expect(t.emc_hit + t.masked_hit - before.emc_hit - before.masked_hit).to.equal(40);
    expect(t.masked_hit - before.masked_hit).to.be.at.least(1);
    // The final stats come back with the delete.
    expect(dp.flowDel(put.ufid).stats.packets).to.equal(40);
  });

  it('drops packets of a flow whose output port is gone, and counts them', async () => {
    const p4 = await dp.portAdd({ name: 'p4', type: 'memory' });
    const frame = ipFrame({ dst: 0x0a000006 });
    dp.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(frame, p1), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions(String(p4)) });
    await dp.portDel(p4);
    const before = dp.totals();
    rx1.inject([frame, frame, frame]);
    await waitFor(() => dp.totals().tx_dropped - before.tx_dropped === 3, 5000, '3 output drops');
    expect(dp.totals().sent_pkts).to.equal(before.sent_pkts);
    expect(dp.pool.stats().doubleFrees).to.equal(0);
  });

  it('executes actions on a given packet: outputs (a copy per extra port), ACTION upcalls, errors', () => {
    const frame = ipFrame({ dst: 0x0a000007 });
    const r = dp.execute({ packet: frame, inPort: p1, actions: parseOdpActions(`${p2},${p3},userspace(pid=9,userdata(0a0b0c)),${p2}`) });
    expect(r).to.deep.equal({ error: 0, sent: 3, upcalls: 1, dropped: 0 });
    const out2 = tx2.txDrainFrames();
    expect(out2).to.have.length(2);
    expect(tx3.txDrainFrames()).to.have.length(1);
    for (const f of out2) expect(Array.from(f)).to.deep.equal(Array.from(frame));
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    const ids = new Uint32Array(4);
    expect(reader.recv(ids)).to.equal(1);
    const up = reader.read(ids[0]!);
    expect(up).to.deep.include({ type: DPIF_UC_ACTION, inPort: p1, pid: 9 });
    expect(Array.from(up.userdata!)).to.deep.equal([0x0a, 0x0b, 0x0c]);
    expect(Array.from(up.packet)).to.deep.equal(Array.from(frame));
    expect(Array.from(up.key)).to.deep.equal(Array.from(keyOf(frame, p1)));
    dp.pool.free(ids[0]!);
    expect(dp.execute({ packet: frame, actions: new Uint8Array([1, 2, 3]) }).error).to.equal('EINVAL');
    expect(dp.execute({ packet: frame.subarray(0, 10), actions: parseOdpActions(String(p2)) }).error).to.equal('EINVAL');
    expect(dp.execute({ packet: frame, actions: parseOdpActions('999') })).to.deep.include({ error: 0, sent: 0, dropped: 1 });
    expect(dp.execute({ packet: frame, actions: parseOdpActions('drop') })).to.deep.include({ error: 0, sent: 0 });
    expect(dp.pool.stats().doubleFrees).to.equal(0);
  });

  it('an idle PMD sleeps on its doorbell and an inject wakes it', async () => {
    const frame = ipFrame({ dst: 0x0a000008 });
    dp.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(frame, p1), mask: maskOf({ [W_NW_DST]: ~0, [W_TP]: 0 }), actions: parseOdpActions(String(p2)) });
    const s0 = dp.totals().sleep_iter;
    await sleep(300);
    const s1 = dp.totals().sleep_iter;
    expect(s1).to.be.greaterThan(s0);
    // Asleep (50 ms timeouts here) rather than spinning: its time asleep dwarfs its idle polling.
    const c = dp.totals();
    rx1.inject(frame);
    await waitFor(() => tx2.txDrainFrames().length === 1, 5000, 'the injected frame on p2');
    const after = dp.totals();
    expect(after.recv - c.recv).to.equal(1);
    expect(after.sleep_ns).to.be.greaterThan(after.idle_ns);
  });
});
