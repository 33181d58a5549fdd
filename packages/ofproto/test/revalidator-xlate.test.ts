import { expect } from 'chai';
import { DPIF_FP_CREATE, FlowTable, deriveUfid, formatOdpActions } from '@tsvs/dpif';
import { W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO } from '@tsvs/packet';
import { MacLearning, OfTables, parseFlowMod, type BridgeConfig, type FlowMod, type MacEvent } from '@tsvs/ofproto';
import {
  Revalidators, XlateTranslator, XLATE_TRANSLATOR_MODULE, dpNow, type XlateTranslatorUpdate,
} from '@tsvs/ofproto/revalidator/index';
import { mkKey } from './revalidator-helpers.js';
import { waitFor } from '../../dpif/test/datapath-helpers.js';

const HELD_TRANSLATOR_MODULE = new URL('./workers/held-translator.mjs', import.meta.url).href;

/** Control plane + handler stand-in over the real xlate (NORMAL, MAC learning, ports). */
class Switch {
  readonly flows = FlowTable.create({ capacity: 256, maxPmds: 1 });
  readonly tables = new OfTables();
  readonly ml: MacLearning;
  readonly batches: FlowMod[][] = [];
  bridge: BridgeConfig;
  readonly handler: XlateTranslator;
  rv!: Revalidators;
  private events: MacEvent[] = [];
  private readonly pmd = this.flows.openPmd(0);

  constructor(bridge: BridgeConfig) {
    this.bridge = bridge;
    this.handler = new XlateTranslator({ bridge });
    this.ml = new MacLearning({ onEvent: (e) => this.events.push(e) });
    this.pmd.offline();
  }

  /** `held`: the revalidator's translator can be held in an update (workers/held-translator.mjs). */
  async start(held = false): Promise<void> {
    const init = (): unknown => ({ bridge: this.bridge, batches: this.batches });
    this.rv = await Revalidators.start({
      flowTable: this.flows, timer: false,
      translator: held
        ? { module: HELD_TRANSLATOR_MODULE, init: () => ({ module: XLATE_TRANSLATOR_MODULE, init: init() }) }
        : { module: XLATE_TRANSLATOR_MODULE, init },
      onCredits: (c) => { for (let i = 0; i < c.ids.length; i++) this.tables.creditStats(c.ids[i]!, c.packets[i]!, c.bytes[i]!, c.used[i]!); },
    });
  }

  private broadcast(u: XlateTranslatorUpdate): void {
    this.handler.update(u);
    this.rv.update(u);
  }

  apply(lines: string[], command: 'add' | 'modify' = 'add'): void {
    const mods = lines.map((l) => parseFlowMod(l, command));
    this.tables.apply(mods);
    this.batches.push(mods);
    this.broadcast({ type: 'flow-mods', mods });
  }

  /** MAC learning changes in the control plane reach the translators (then a round revalidates). */
  flushMacEvents(): void {
    const events = this.events;
    this.events = [];
    if (events.length > 0) this.broadcast({ type: 'mac', events });
  }

  setBridge(b: BridgeConfig): void {
    this.bridge = b;
    this.broadcast({ type: 'bridge', bridge: b });
  }

  install(key: Uint32Array): Uint32Array {
    const revalSeq = this.rv.ukeys.revalSeq;
    const tr = this.handler.translate(key, 0);
    expect(tr.error).to.equal(0);
    const ufid = new Uint32Array(4);
    deriveUfid(key, 0, tr.mask, 0, this.flows.secret, ufid);
    const r = this.rv.ukeys.install({ ufid, key, mask: tr.mask, actions: tr.actions, rules: tr.rules, version: this.handler.version, revalSeq, nowMs: dpNow() });
    expect(r.ok).to.equal(true);
    const p = this.flows.put({ flags: DPIF_FP_CREATE, key, mask: tr.mask, actions: tr.actions, ufid });
    expect(p.error).to.equal(0);
    this.rv.ukeys.installFinish(r.ukey, r.gen, true);
    return ufid;
  }

  hit(key: Uint32Array, n: number): void {
    this.pmd.online();
    const e = this.pmd.lookup(key, 0);
    expect(e).to.be.at.least(0);
    this.flows.statsAdd(e, 0, n, n * 60, 0, dpNow());
    this.pmd.offline();
  }

  actions(ufid: Uint32Array): string | null {
    const g = this.flows.get(ufid);
    return g.flow ? formatOdpActions(g.flow.actions) : null;
  }

  round(): Promise<void> {
    return this.rv.wait({ kick: true });
  }
}

/**
 * Holds the revalidator thread in an update with a round's dump queued behind the hold (the control
 * plane resets the dump cursor right before it posts a dump). Returns the gate for `release`.
 */
async function holdWithDumpQueued(sw: Switch): Promise<SharedArrayBuffer> {
  const cur = sw.rv.ukeys.dumpCursor;
  Atomics.store(cur.array, cur.index, 0x7fffffff);
  const gate = new SharedArrayBuffer(4);
  sw.rv.update({ type: 'hold', gate });
  await waitFor(() => Atomics.load(cur.array, cur.index) === 0, 20000, 'the round to post its dump');
  return gate;
}

function release(gate: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(gate), 0, 1);
  Atomics.notify(new Int32Array(gate), 0);
}

const port = (n: number) => ({ name: `p${n}`, ofport: n, odpPort: n + 10 });
const MAC_A = [0x0000, 0x0000000a] as const; // 00:00:00:00:00:0a
const MAC_B = [0x0000, 0x0000000b] as const;

function l2Key(inOdp: number, src: readonly [number, number], dst: readonly [number, number]): Uint32Array {
  const k = mkKey({ inPort: inOdp });
  k[W_DL_SRC_HI] = src[0];
  k[W_DL_SRC_LO] = src[1];
  k[W_DL_DST_HI] = dst[0];
  k[W_DL_DST_LO] = dst[1];
  return k;
}

describe('ofproto/revalidator: with the full translation (NORMAL, MAC learning, ports)', function () {
  this.timeout(30000);
  let sw: Switch | null = null;
  afterEach(async () => {
    if (sw) await sw.rv.stop();
    sw = null;
  });

  it('follows a MAC move, a MAC flush and a port removal by modifying the flow in place; credits the NORMAL rule; deletes the flows of a removed input port', async () => {
    sw = new Switch({ name: 'br0', ports: [port(1), port(2), port(3)] });
    await sw.start();
    sw.apply(['priority=0,actions=NORMAL']);
    const normal = sw.tables.select({})[0]!;
    sw.ml.update(0, MAC_B[0], MAC_B[1], 2); // B is on p2
    sw.flushMacEvents();
    const key = l2Key(11, MAC_A, MAC_B); // from p1 (odp 11) to B
    const ufid = sw.install(key);
    expect(sw.actions(ufid)).to.equal('12');
    sw.hit(key, 4);
    await sw.round();
    expect(sw.actions(ufid)).to.equal('12');
    expect(normal.nPackets).to.equal(4);

    sw.ml.update(0, MAC_B[0], MAC_B[1], 3); // B moved to p3
    sw.flushMacEvents();
    await sw.round();
    expect(sw.actions(ufid)).to.equal('13');
    expect(sw.rv.show().modified).to.equal(1);

    sw.ml.flush(); // B forgotten: NORMAL floods
    sw.flushMacEvents();
    sw.hit(key, 3);
    await sw.round();
    expect(sw.actions(ufid)).to.equal('12,13');

    sw.setBridge({ name: 'br0', ports: [port(1), port(2)] }); // p3 removed
    await sw.round();
    expect(sw.actions(ufid)).to.equal('12');
    expect(sw.rv.show().modified).to.equal(3);
    expect(normal.nPackets).to.equal(7);

    sw.setBridge({ name: 'br0', ports: [port(2)] }); // the input port goes
    await sw.round();
    expect(sw.flows.get(ufid).error).to.equal('ENOENT');
    expect(sw.rv.show().deletedByReason.xlate_error).to.equal(1);
  });

  it('a change posted while a round\'s dump waits in the thread\'s queue is revalidated by the next round (the dump runs at the sequence it was sent with)', async () => {
    sw = new Switch({ name: 'br0', ports: [port(1), port(2), port(3)] });
    await sw.start(true);
    sw.apply(['priority=0,actions=NORMAL']);
    const ufid = sw.install(l2Key(13, MAC_A, MAC_B)); // from p3, B unknown: flood
    expect(sw.actions(ufid)).to.equal('11,12');
    await sw.round();
    const gate = await holdWithDumpQueued(sw);
    // The input port goes while that dump waits: its update queues after the dump, then the
    // sequence moves. The dump still translates with p3 there, so it must not mark the flow
    // current for the new sequence.
    sw.setBridge({ name: 'br0', ports: [port(1), port(2)] });
    release(gate);
    await sw.round();
    expect(sw.flows.get(ufid).error, 'the flow of the removed input port').to.equal('ENOENT');
    expect(sw.rv.show().deletedByReason.xlate_error).to.equal(1);
  });

  it('a flow translated with tables newer than a waiting dump\'s is left alone by that dump (no round undoes a change it has not seen)', async () => {
    sw = new Switch({ name: 'br0', ports: [port(1), port(2), port(3)] });
    await sw.start(true);
    await sw.round();
    const gate = await holdWithDumpQueued(sw);
    // NORMAL comes after that dump; a handler already translates with it and installs a flood.
    sw.apply(['priority=0,actions=NORMAL']);
    const ufid = sw.install(l2Key(11, MAC_A, MAC_B));
    expect(sw.actions(ufid)).to.equal('12,13');
    release(gate);
    await sw.round();
    // The waiting dump (no rules yet) would have made it a drop, the next round a flood again.
    expect(sw.actions(ufid)).to.equal('12,13');
    const show = sw.rv.show();
    expect(show.modified, 'flows modified').to.equal(0);
    expect(Object.values(show.deletedByReason).reduce((a, b) => a + b, 0), 'flows deleted').to.equal(0);
  });

  it('threads started by setThreads get the changes made while they start', async () => {
    sw = new Switch({ name: 'br0', ports: [port(1), port(2), port(3)] });
    await sw.start();
    sw.apply(['priority=0,actions=drop']);
    const ufid = sw.install(l2Key(11, MAC_A, MAC_B));
    expect(sw.actions(ufid)).to.equal('drop');
    const resized = sw.rv.setThreads(2);
    // The new threads are made (from the state now) once the microtasks run; NORMAL comes while
    // they start, before they are the revalidators.
    await new Promise((r) => setImmediate(r));
    sw.apply(['priority=10,actions=NORMAL']);
    await resized;
    expect(sw.rv.nThreads).to.equal(2);
    await sw.round();
    // NORMAL needs more of the key than the drop flow matched on: the flow goes (OVS "wildcarded").
    expect(sw.flows.get(ufid).error).to.equal('ENOENT');
    expect(sw.rv.show().deletedByReason.wildcarded).to.equal(1);
  });
});
