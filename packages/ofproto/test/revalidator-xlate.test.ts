import { expect } from 'chai';
import { DPIF_FP_CREATE, FlowTable, deriveUfid, formatOdpActions } from '@tsvs/dpif';
import { W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO } from '@tsvs/packet';
import { MacLearning, OfTables, parseFlowMod, type BridgeConfig, type FlowMod, type MacEvent } from '@tsvs/ofproto';
import {
  Revalidators, XlateTranslator, XLATE_TRANSLATOR_MODULE, dpNow, type XlateTranslatorUpdate,
} from '@tsvs/ofproto/revalidator/index';
import { mkKey } from './revalidator-helpers.js';

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

  async start(): Promise<void> {
    this.rv = await Revalidators.start({
      flowTable: this.flows, timer: false,
      translator: { module: XLATE_TRANSLATOR_MODULE, init: () => ({ bridge: this.bridge, batches: this.batches }) },
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
});
