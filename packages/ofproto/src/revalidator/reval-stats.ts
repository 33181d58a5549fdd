/**
 * What revalidator threads report after each phase: counters (plain numbers, summed by the control
 * plane) and the stats to credit to OpenFlow rules (per rule id: packets, bytes, latest used).
 */

/**
 * Why a datapath flow was deleted (OVS enum flow_del_reason, FDR_*):
 * idle (FDR_FLOW_IDLE), flow_limit (FDR_FLOW_LIMIT: over twice the limit), xlate_error
 * (FDR_XLATION_ERROR), wildcarded (FDR_FLOW_WILDCARDED: installed mask wider than the tables now
 * allow), too_expensive (FDR_TOO_EXPENSIVE: slow flow not re-translated after a long round),
 * update_fail (FDR_UPDATE_FAIL: a modify failed, ukey INCONSISTENT), missing (FDR_FLOW_MISSING_DP:
 * ukey not dumped 4 rounds in a row), purge (FDR_PURGE), unexpected (a flow without ukey that could
 * not get one).
 */
export const DEL_REASONS = [
  'idle', 'flow_limit', 'xlate_error', 'wildcarded', 'too_expensive', 'update_fail', 'missing', 'purge', 'unexpected',
] as const;
export type DelReason = (typeof DEL_REASONS)[number];

/** The four groups `upcall show` prints: revalidation = xlate_error + wildcarded + too_expensive + update_fail + missing + unexpected. */
export function delReasonGroup(r: DelReason): 'idle' | 'revalidation' | 'flow_limit' | 'purge' {
  return r === 'idle' || r === 'flow_limit' || r === 'purge' ? r : 'revalidation';
}

export interface RevalCounters {
  /** Flows handed out by dumps. */
  dumped: number;
  /** ukeys visited by sweeps. */
  swept: number;
  /** Flows kept / modified in place (put MODIFY) by a revalidation. */
  kept: number;
  modified: number;
  /** Flows deleted, by reason (counted when the delete succeeded or found the flow gone). */
  deleted: Record<DelReason, number>;
  /** Translations run. */
  retranslated: number;
  /** ukeys created for dumped flows that had none (OVS ukey_acquire). */
  adopted: number;
  /** ukeys skipped because another thread held them (OVS upcall_ukey_contention). */
  contention: number;
  /** Flows met twice in one dump (OVS dumped_duplicate_flow). */
  duplicate: number;
  /** ukeys removed from their umap (EVICTED → DELETED). */
  removed: number;
  /** Datapath operations that failed (modify: ukey INCONSISTENT; delete of a flow already gone). */
  opErrors: number;
  /** Packets and bytes credited to rules (per rule touched). */
  creditedPackets: number;
  creditedBytes: number;
}

export function newCounters(): RevalCounters {
  const deleted = {} as Record<DelReason, number>;
  for (const r of DEL_REASONS) deleted[r] = 0;
  return {
    dumped: 0, swept: 0, kept: 0, modified: 0, deleted, retranslated: 0, adopted: 0, contention: 0, duplicate: 0,
    removed: 0, opErrors: 0, creditedPackets: 0, creditedBytes: 0,
  };
}

/** a += b. */
export function addCounters(a: RevalCounters, b: RevalCounters): void {
  for (const k of Object.keys(a) as Array<keyof RevalCounters>) {
    if (k === 'deleted') for (const r of DEL_REASONS) a.deleted[r] += b.deleted[r] ?? 0;
    else (a[k] as number) += (b[k] as number) ?? 0;
  }
}

export function totalDeleted(c: RevalCounters): number {
  let n = 0;
  for (const r of DEL_REASONS) n += c.deleted[r];
  return n;
}

/** Stats credits of one phase, as posted (typed arrays, transferable). */
export interface StatsCredits {
  ids: Int32Array;
  packets: Float64Array;
  bytes: Float64Array;
  used: Float64Array;
}

/** Accumulates credits per rule id (OVS xlate_push_stats over each ukey's xcache). */
export class CreditAccumulator {
  private slot = new Map<number, number>();
  private ids = new Int32Array(256);
  private p = new Float64Array(256);
  private b = new Float64Array(256);
  private u = new Float64Array(256);
  private n = 0;

  add(ruleId: number, packets: number, bytes: number, used: number): void {
    let s = this.slot.get(ruleId);
    if (s === undefined) {
      s = this.n++;
      if (s === this.ids.length) this.grow();
      this.slot.set(ruleId, s);
      this.ids[s] = ruleId;
      this.p[s] = 0;
      this.b[s] = 0;
      this.u[s] = 0;
    }
    this.p[s] += packets;
    this.b[s] += bytes;
    if (used > this.u[s]!) this.u[s] = used;
  }

  get size(): number {
    return this.n;
  }

  /** The credits so far (copies), and a reset. */
  take(): StatsCredits {
    const out = {
      ids: this.ids.slice(0, this.n), packets: this.p.slice(0, this.n), bytes: this.b.slice(0, this.n), used: this.u.slice(0, this.n),
    };
    this.slot.clear();
    this.n = 0;
    return out;
  }

  private grow(): void {
    const g = <T extends Int32Array | Float64Array>(a: T): T => {
      const c = new (a.constructor as new (n: number) => T)(a.length * 2);
      c.set(a);
      return c;
    };
    this.ids = g(this.ids);
    this.p = g(this.p);
    this.b = g(this.b);
    this.u = g(this.u);
  }
}
