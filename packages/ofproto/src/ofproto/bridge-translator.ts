/**
 * The revalidators' translator for an `Ofproto` bridge (the `Translator` of
 * ../revalidator/translator.ts): the full xlate (../xlate) over a SlowPathReplica, without side
 * effects (no MAC learning), as OVS's revalidate_ukey__ runs xlate_actions. Unlike
 * ../revalidator/xlate-translator.ts, which keeps a private MAC replica fed by events, it reads the
 * bridge's shared MAC table (../fdb-shared), where handler threads learn: nothing to ship. The revalidator worker imports this module by URL
 * (`BRIDGE_TRANSLATOR_MODULE`) and calls `createTranslator(init: ReplicaInit)`; updates are
 * `ReplicaUpdate`s.
 *
 * A datapath key (odp in_port) is translated with in_port mapped to its OpenFlow port; the mask
 * returned is the datapath mask the handler would install (`datapathMegaflow`), the actions the
 * encoded actions it would install (`encodeFlowActions`: slow-path flows as
 * `userspace(slow_path(...))`). An in_port that is no longer a bridge port, or an xlate error, is
 * an error (the flow is deleted).
 */
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { encodeOdpActions } from '@tsvs/dpif';
import type { Translation, Translator } from '../revalidator/translator.js';
import { xlateFlow } from '../xlate/xlate.js';
import { encodeFlowActions } from '../xlate/odp-actions.js';
import { datapathMegaflow } from '../xlate/datapath-mask.js';
import { SlowPathReplica, type ReplicaInit, type ReplicaUpdate } from './replica.js';

/** Error code for a key whose in_port is not a port of the bridge (xlate codes are small positive numbers). */
export const BRIDGE_XLATE_NO_PORT = 100;

export class BridgeTranslator implements Translator {
  readonly replica: SlowPathReplica;
  private readonly flow = new Uint32Array(FLOW_WORDS);
  private readonly key = new Uint32Array(FLOW_WORDS);

  constructor(init: ReplicaInit) {
    this.replica = new SlowPathReplica(init);
  }

  get version(): number {
    return this.replica.version;
  }

  translate(key: Uint32Array, keyBase: number): Translation {
    const flow = this.flow;
    for (let i = 0; i < FLOW_WORDS; i++) flow[i] = key[keyBase + i]!;
    const ports = this.replica.ports;
    const ofport = ports.odpToOfport(flow[W_IN_PORT]!);
    const mask = new Uint32Array(FLOW_WORDS);
    if (ofport < 0) return { error: BRIDGE_XLATE_NO_PORT, actions: encodeOdpActions([]), mask, rules: [] };
    flow[W_IN_PORT] = ofport;
    const xr = xlateFlow(this.replica.env, { flow, sideEffects: false });
    const rules = xr.rules.map((r) => r.id);
    if (xr.error !== 0) return { error: xr.error, actions: encodeOdpActions([]), mask, rules };
    datapathMegaflow(ports, xr.flow, xr.wc, this.key, 0, mask, 0);
    return { error: 0, actions: encodeFlowActions(xr.actions, xr.slow), mask, rules };
  }

  update(msg: unknown): void {
    this.replica.apply(msg as ReplicaUpdate);
  }
}

/** Factory the revalidator worker calls. */
export function createTranslator(init: unknown): Translator {
  return new BridgeTranslator(init as ReplicaInit);
}

/** This module's URL, for TranslatorSpec.module. */
export const BRIDGE_TRANSLATOR_MODULE = import.meta.url;
