/**
 * A small, real translator for revalidator tests and benchmarks: one lookup in table 0 of a
 * replica of the OpenFlow tables (OfTables + classifier), whose `output:N` actions become datapath
 * `output(N)` (odp port = OpenFlow port) and whose other actions are not supported (xlate error).
 * A table miss is `drop`. The mask is the classifier's wildcards (every bit the lookup consulted,
 * including bits examined to rule out higher-priority rules) plus an exact in_port, so a flow's
 * megaflow moves when rules change exactly as the classifier says it must.
 *
 * The full translation (src/xlate, NORMAL, MAC learning, resubmit, ...) plugs into the same
 * Translator interface; this one exists so the revalidators can be tested against real tables
 * now.
 *
 * Init (structured-clonable): `{ batches: FlowMod[][] }`, each batch one `OfTables.apply` in order.
 * Updates: `{ type: 'flow-mods', mods: FlowMod[] }` applies one batch. The control plane applies the
 * same batches to its own OfTables, so versions and rule ids match (OfTables is deterministic).
 */
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { encodeOdpActions, type OdpAction } from '@tsvs/dpif';
import type { FlowMod } from '../rules/flow-mod.js';
import { OfTables } from '../tables/of-tables.js';
import type { Translation, Translator } from './translator.js';

/** Xlate error code of this translator: the rule has an action it does not translate. */
export const SIMPLE_XLATE_UNSUPPORTED = 1;

export interface SimpleTranslatorInit {
  batches?: FlowMod[][];
  nTables?: number;
}

export interface FlowModsUpdate {
  type: 'flow-mods';
  mods: FlowMod[];
}

const OFPP_MAX = 0xff00;

export class SimpleTranslator implements Translator {
  readonly tables: OfTables;
  private readonly flow = new Uint32Array(FLOW_WORDS);

  constructor(init: SimpleTranslatorInit = {}) {
    this.tables = new OfTables({ nTables: init.nTables ?? 255 });
    for (const b of init.batches ?? []) this.tables.apply(b);
  }

  get version(): number {
    return this.tables.version;
  }

  translate(key: Uint32Array, keyBase: number): Translation {
    const flow = this.flow;
    for (let i = 0; i < FLOW_WORDS; i++) flow[i] = key[keyBase + i]!;
    const mask = new Uint32Array(FLOW_WORDS);
    mask[W_IN_PORT] = 0xffffffff;
    const rule = this.tables.lookup(0, flow, 0, this.tables.version, mask, 0);
    if (!rule) return { error: 0, actions: encodeOdpActions([]), mask, rules: [] };
    const out: OdpAction[] = [];
    for (const a of rule.actions) {
      if (a.type === 'output' && a.port < OFPP_MAX) out.push({ type: 'output', port: a.port });
      else return { error: SIMPLE_XLATE_UNSUPPORTED, actions: encodeOdpActions([]), mask, rules: [rule.id] };
    }
    return { error: 0, actions: encodeOdpActions(out), mask, rules: [rule.id] };
  }

  update(msg: unknown): void {
    const m = msg as FlowModsUpdate;
    if (m && m.type === 'flow-mods') this.tables.apply(m.mods);
  }
}

/** Factory for revalidator threads (TranslatorSpec.module = this module's URL). */
export function createTranslator(init: unknown): Translator {
  return new SimpleTranslator((init ?? {}) as SimpleTranslatorInit);
}

/** This module's URL, for TranslatorSpec.module. */
export const SIMPLE_TRANSLATOR_MODULE = import.meta.url;
