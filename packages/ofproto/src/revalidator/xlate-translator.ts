/**
 * The revalidators' translator over the full translation (src/xlate: tables, resubmit, NORMAL
 * with MAC learning, VLANs, set-field, slow path), in each revalidator thread, on replicas kept in
 * step by the control plane's updates:
 *
 *   init:    { bridge: BridgeConfig, batches?: FlowMod[][], macs?: MacReplicaEntry[], nTables? }
 *   updates: { type: 'flow-mods', mods }      one OfTables.apply (the control plane applies the same)
 *            { type: 'bridge', bridge }       port change: the new BridgeConfig
 *            { type: 'mac', events }          MacLearning events (learned, moved, expired, evicted,
 *                                             flushed, deleted) as the control plane's table emitted them
 *
 * Translation is side-effect free (OVS revalidation: no learning). The datapath key's in_port (odp)
 * maps to the OpenFlow port; the result is installed-flow shaped: `datapathMegaflow` mask (in_port
 * exact, the VLAN implication), `encodeFlowActions` bytes (slow path as OVS installs it), and the
 * ids of the rules that ran. A key whose in_port is not a bridge port is an error (OVS
 * xlate_lookup fails, ENODEV): the flow is deleted.
 *
 * The MAC replica holds every entry as static (it never ages by itself: expiry is an event).
 */
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { BridgePorts, type BridgeConfig } from '../bridge/bridge.js';
import { MacLearning, type MacEvent } from '../mac-learning/mac-learning.js';
import type { FlowMod } from '../rules/flow-mod.js';
import { OfTables } from '../tables/of-tables.js';
import { datapathMegaflow } from '../xlate/datapath-mask.js';
import { encodeFlowActions } from '../xlate/odp-actions.js';
import { xlateFlow } from '../xlate/xlate.js';
import type { Translation, Translator } from './translator.js';

/** Error code of a key whose in_port is no port of the bridge. */
export const XLATE_TRANSLATOR_NO_PORT = 1000;

/** One learned MAC for the replica's initial state: VLAN, MAC (flow key words hi/lo), OpenFlow port. */
export type MacReplicaEntry = [vlan: number, macHi: number, macLo: number, port: number];

export interface XlateTranslatorInit {
  bridge: BridgeConfig;
  batches?: FlowMod[][];
  macs?: MacReplicaEntry[];
  nTables?: number;
}

export type XlateTranslatorUpdate =
  | { type: 'flow-mods'; mods: FlowMod[] }
  | { type: 'bridge'; bridge: BridgeConfig }
  | { type: 'mac'; events: MacEvent[] };

const EMPTY = new Uint8Array(0);

export class XlateTranslator implements Translator {
  readonly tables: OfTables;
  ports: BridgePorts;
  readonly ml = new MacLearning({ maxEntries: 1_000_000 });
  private readonly flow = new Uint32Array(FLOW_WORDS);

  constructor(init: XlateTranslatorInit) {
    this.tables = new OfTables({ nTables: init.nTables ?? 255 });
    for (const b of init.batches ?? []) this.tables.apply(b);
    this.ports = new BridgePorts(init.bridge);
    for (const [vlan, hi, lo, port] of init.macs ?? []) this.ml.addStatic(vlan, hi, lo, port);
  }

  get version(): number {
    return this.tables.version;
  }

  translate(key: Uint32Array, keyBase: number): Translation {
    const flow = this.flow;
    for (let i = 0; i < FLOW_WORDS; i++) flow[i] = key[keyBase + i]!;
    const ofport = this.ports.odpToOfport(flow[W_IN_PORT]!);
    const mask = new Uint32Array(FLOW_WORDS);
    if (ofport < 0) return { error: XLATE_TRANSLATOR_NO_PORT, actions: EMPTY, mask, rules: [] };
    flow[W_IN_PORT] = ofport;
    const r = xlateFlow({ ports: this.ports, tables: this.tables, ml: this.ml }, { flow, version: this.tables.version, sideEffects: false });
    const rules = r.rules.map((x) => x.id);
    if (r.error !== 0) return { error: r.error, actions: EMPTY, mask, rules };
    const dpKey = new Uint32Array(FLOW_WORDS);
    datapathMegaflow(this.ports, flow, r.wc, dpKey, 0, mask, 0);
    return { error: 0, actions: encodeFlowActions(r.actions, r.slow), mask, rules };
  }

  update(msg: unknown): void {
    const m = msg as XlateTranslatorUpdate;
    switch (m?.type) {
      case 'flow-mods':
        this.tables.apply(m.mods);
        return;
      case 'bridge':
        this.ports = new BridgePorts(m.bridge);
        return;
      case 'mac':
        for (const e of m.events) {
          if (e.port >= 0) this.ml.addStatic(e.vlan, e.macHi, e.macLo, e.port);
          else this.ml.delStatic(e.vlan, e.macHi, e.macLo);
        }
        return;
    }
  }
}

/** Factory for revalidator threads (TranslatorSpec.module = XLATE_TRANSLATOR_MODULE). */
export function createTranslator(init: unknown): Translator {
  return new XlateTranslator(init as XlateTranslatorInit);
}

export const XLATE_TRANSLATOR_MODULE = import.meta.url;
