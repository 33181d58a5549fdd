/**
 * What a translating thread (handler or revalidator) holds of the bridge: a replica of the
 * OpenFlow tables, the bridge's port model, and the shared MAC table. The control thread owns the
 * master OfTables and broadcasts every change as a `ReplicaUpdate` (plain, structured-clonable
 * data); each replica applies the same changes in the same order, and OfTables is deterministic,
 * so every replica has the same rule ids and the same version as the master after each change
 * (the revalidators compare a ukey's recorded version with their own, and credit rule ids).
 *
 * A thread started later gets `ReplicaInit`: the port model as it is now and every table change
 * made so far (the history), which it replays. Rule expiry, which the master does with
 * `OfTables.expire`, travels as a batch of delete_strict flow mods of exactly the expired rules
 * (one batch = one version, as `expire` is one change).
 */
import { OfTables } from '../tables/of-tables.js';
import { BridgePorts, type BridgeConfig } from '../bridge/bridge.js';
import type { FlowMod } from '../rules/flow-mod.js';
import type { MacLearning } from '../mac-learning/mac-learning.js';
import type { XlateEnv } from '../xlate/xlate.js';
import { SharedMacTable } from '../fdb-shared/shared-mac-table.js';

export type ReplicaUpdate =
  /** One `OfTables.apply` batch (one version). */
  | { type: 'flow-mods'; mods: FlowMod[] }
  /** The bridge's port model changed (port added, removed or reconfigured). */
  | { type: 'ports'; bridge: BridgeConfig };

export interface ReplicaInit {
  nTables: number;
  bridge: BridgeConfig;
  /** The shared MAC table's buffer. */
  fdb: SharedArrayBuffer;
  /** Every flow-mod batch applied so far, in order. */
  history: FlowMod[][];
}

export class SlowPathReplica {
  readonly tables: OfTables;
  readonly fdb: SharedMacTable;
  /** The environment xlate reads; `ports` is replaced on a port change. */
  readonly env: XlateEnv;

  constructor(init: ReplicaInit) {
    this.tables = new OfTables({ nTables: init.nTables });
    this.fdb = SharedMacTable.attach(init.fdb);
    // xlate is typed against MacLearning; the shared table has the same lookup/update contract
    // (same names, arguments, results), which is all translation calls.
    this.env = { ports: new BridgePorts(init.bridge), tables: this.tables, ml: this.fdb as unknown as MacLearning };
    for (const b of init.history) this.tables.apply(b);
  }

  get version(): number {
    return this.tables.version;
  }

  get ports(): BridgePorts {
    return this.env.ports;
  }

  /** Applies one broadcast change. Throws what OfTables throws (a replica out of step: a bug). */
  apply(u: ReplicaUpdate): void {
    if (u.type === 'flow-mods') this.tables.apply(u.mods);
    else if (u.type === 'ports') this.env.ports = new BridgePorts(u.bridge);
  }
}
