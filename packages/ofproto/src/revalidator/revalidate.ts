/**
 * One revalidator thread's work in a round, after OVS 3.1 ofproto/ofproto-dpif-upcall.c:
 * `dumpPhase` is revalidate() (pull terse dump batches of 50 from the dump shared by all
 * revalidators, judge each flow by its ukey, push stats, delete/modify in one operate() per
 * batch), `sweepPhase` is revalidator_sweep__() (walk this thread's slice of the 512 umaps:
 * revalidate ukeys the dump missed, delete INCONSISTENT ones, remove EVICTED ukeys; with purge,
 * delete every flow).
 *
 * Decisions per dumped flow (OVS revalidate + revalidate_ukey + revalidate_ukey__):
 * - no ukey: adopt it (OVS ukey_acquire → ukey_create_from_dpif_flow): read the flow, make an
 *   OPERATIONAL ukey with no translation, which the next step re-translates at once;
 * - already seen in this dump: skip; INCONSISTENT: delete; past OPERATIONAL: skip;
 * - more than twice the flow limit in the datapath: delete (flow_limit); idle longer than max-idle
 *   (100 ms while over the limit): delete (idle). A never-hit flow is idle since its creation;
 * - tables changed since its translation (reval seq or tables version moved): if worth it
 *   (should_revalidate) re-translate: error → delete, the installed mask lacks a bit the new mask
 *   has → delete (wildcarded), other actions → modify in place, else keep; not worth it → delete
 *   (too_expensive);
 * - else keep.
 * Kept and modified flows push their stats delta (since the last push) to the rules; deleted
 * flows push the delta to their final stats, which the delete itself returns (the flow table's
 * delete waits for every PMD, so nothing is counted after). A ukey's stats record exactly what was
 * pushed, so no packet is credited twice or lost.
 *
 * Crediting: the delta goes to the rules of the translation that forwarded those packets (the
 * ukey's rules before this round's re-translation). OVS credits a re-translated flow's delta to the
 * new translation's rules; the two differ only when a change moves a flow to another rule.
 */
import { FLOW_WORDS } from '@tsvs/packet';
import {
  DPIF_FP_MODIFY, type FlowOp, type FlowOpResult, type FlowTable, type FlowTerse,
} from '@tsvs/dpif';
import { effectiveMaxIdle, killThemAll, shouldRevalidate } from './flow-limit.js';
import { CreditAccumulator, newCounters, type DelReason, type RevalCounters } from './reval-stats.js';
import type { Translation, Translator } from './translator.js';
import { N_UMAPS, UKEY_F_ADOPTED } from './ukey-layout.js';
import type { UkeyTable } from './ukey-table.js';
import {
  UKEY_EVICTED, UKEY_EVICTING, UKEY_INCONSISTENT, UKEY_OPERATIONAL, UKEY_VISIBLE,
} from './ukey-state.js';

/** OVS REVALIDATE_MAX_BATCH. */
export const REVALIDATE_MAX_BATCH = 50;
/** A ukey missing from this many dumps in a row is deleted (OVS revalidator_sweep__, missed_dumps). */
export const MAX_MISSED_DUMPS = 4;

const KEEP = 0;
const MODIFY = 1;
const DELETE = 2;

/** Tunables a revalidator thread reads (ms unless said). */
export interface RevalConfig {
  maxIdleMs: number;
  maxRevalidatorMs: number;
  /** Packets per second. */
  minRevalidatePps: number;
  /** Test hook: sleep this long at the start of each dump phase (drives flow-limit adaptation in tests). */
  dumpDelayMs: number;
}

export const DEFAULT_REVAL_CONFIG: RevalConfig = { maxIdleMs: 10000, maxRevalidatorMs: 500, minRevalidatePps: 5, dumpDelayMs: 0 };

/** The datapath clock (ms): the epoch-based time PMDs stamp `used` with (DpClock). */
export function dpNow(): number {
  return performance.timeOrigin + performance.now();
}

interface PendingOp {
  kind: typeof MODIFY | typeof DELETE;
  ukey: number; // -1: a flow without ukey
  gen: number;
  reason: DelReason | null;
  /** For ukey-less deletes: the flow's UFID and key (the key finds the rules to credit). */
  ufid: Uint32Array | null;
  key: Uint32Array | null;
}

export class RevalidatorCore {
  counters: RevalCounters = newCounters();
  readonly credits = new CreditAccumulator();
  private revalSeq = 0;
  private dumpSeq = 0;
  private flowLimit = 0;
  private dumpDuration = 0;
  private readonly sKey = new Uint32Array(FLOW_WORDS);
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));
  private snap = { idx: new Int32Array(64), gen: new Int32Array(64) };

  constructor(
    readonly flows: FlowTable,
    readonly ukeys: UkeyTable,
    readonly xlate: Translator,
    public cfg: RevalConfig = { ...DEFAULT_REVAL_CONFIG },
    private readonly now: () => number = dpNow,
  ) {}

  /**
   * Reads the round's sequences and limit (every phase starts with it). `revalSeq`: the
   * revalidation sequence the control plane read when it sent the phase (see `dumpPhase`).
   */
  private beginPhase(revalSeq: number): void {
    this.revalSeq = revalSeq;
    this.dumpSeq = this.ukeys.dumpSeq;
    this.flowLimit = this.ukeys.flowLimit;
    this.dumpDuration = this.ukeys.dumpDuration;
  }

  /**
   * Whether the ukey's translation predates the tables this phase translates with. A translation
   * made with newer ones (its sequence or version ahead of this phase's: a handler had applied a
   * change still queued for this thread) is left alone: judged with older tables it would be
   * undone (a new rule's flows modified to drop or deleted, a new port dropped from a flood). A
   * later round, at its sequence, judges it.
   */
  private stale(u: number): boolean {
    const seq = this.ukeys.revalSeqOf(u), version = this.ukeys.versionOf(u);
    if (((seq - this.revalSeq) | 0) > 0 || version > this.xlate.version) return false;
    return seq !== this.revalSeq || version !== this.xlate.version;
  }

  /**
   * The dump phase (OVS revalidate()): pulls batches from the shared dump until it is exhausted.
   * The control plane resets the cursor (`ukeys.dumpCursor`) before the round.
   *
   * `revalSeq` (default: the shared one now) is the sequence the ukeys re-translated here are
   * marked current for. A thread whose translator learns of changes by message must be given the
   * value read when the phase was sent: a change is posted before the sequence moves for it, so
   * every change counted in that value is applied before the phase runs. Read later, the
   * sequence could count a change still queued behind the phase, and a flow translated without
   * it would look current for good (OVS reads reval_seq before the xlate config it uses).
   */
  dumpPhase(revalSeq = this.ukeys.revalSeq): void {
    this.beginPhase(revalSeq);
    if (this.cfg.dumpDelayMs > 0) Atomics.wait(this.sleepCell, 0, 0, this.cfg.dumpDelayMs);
    const cur = this.ukeys.dumpCursor;
    const ops: PendingOp[] = [];
    for (;;) {
      if (Atomics.load(cur.array, cur.index) >= this.flows.capacity) break;
      const batch = this.flows.dumpNext(cur.array, cur.index, REVALIDATE_MAX_BATCH, true) as FlowTerse[];
      if (batch.length === 0) break;
      const nFlows = this.flows.flowCount;
      const kill = killThemAll(nFlows, this.flowLimit);
      const maxIdle = effectiveMaxIdle(nFlows, this.flowLimit, this.cfg.maxIdleMs);
      const now = this.now();
      for (const f of batch) {
        this.counters.dumped++;
        let u = this.ukeys.lookupLock(f.ufid);
        if (u === -2) { this.counters.contention++; continue; }
        if (u === -1) {
          u = this.adopt(f.ufid, now, ops);
          if (u < 0) continue;
        }
        const ukeys = this.ukeys;
        if (ukeys.dumpSeqOf(u) === this.dumpSeq) {
          this.counters.duplicate++;
          ukeys.unlock(u);
          continue;
        }
        const state = ukeys.state(u);
        if (state === UKEY_INCONSISTENT) {
          ukeys.setDumpSeq(u, this.dumpSeq);
          this.queueDelete(u, 'update_fail', ops);
          ukeys.unlock(u);
          continue;
        }
        if (state > UKEY_OPERATIONAL) { ukeys.unlock(u); continue; }
        ukeys.transition(u, UKEY_OPERATIONAL); // the flow is now confirmed to be in the datapath
        ukeys.setMissed(u, 0);
        let used = f.stats.used;
        if (!used) used = ukeys.pushedUsed(u) || ukeys.createdOf(u);
        let result: number, reason: DelReason | null = null;
        if (kill || used < now - maxIdle) {
          result = DELETE;
          reason = kill ? 'flow_limit' : 'idle';
        } else {
          result = this.revalidateUkey(u, f.stats.packets, f.stats.bytes, f.stats.used, f.stats.tcpFlags, now);
          reason = this.lastReason;
        }
        ukeys.setDumpSeq(u, this.dumpSeq);
        if (result === DELETE) this.queueDelete(u, reason!, ops);
        else if (result === MODIFY) this.queueModify(u, ops);
        else this.counters.kept++;
        ukeys.unlock(u);
      }
      if (ops.length > 0) {
        this.pushOps(ops, false);
        ops.length = 0;
      }
    }
  }

  /**
   * The sweep phase (OVS revalidator_sweep__) over umaps slice, slice + n, ... With `purge`, every
   * VISIBLE or OPERATIONAL ukey's flow is deleted (stats pushed).
   */
  sweepPhase(slice: number, n: number, purge: boolean, revalSeq = this.ukeys.revalSeq): void {
    this.beginPhase(revalSeq);
    const ukeys = this.ukeys;
    const ops: PendingOp[] = [];
    for (let um = slice; um < N_UMAPS; um += n) {
      const cnt = ukeys.umapSnapshot(um, this.snap);
      const { idx, gen } = this.snap;
      for (let k = 0; k < cnt; k++) {
        const u = idx[k]!, g = gen[k]!;
        this.counters.swept++;
        if (!ukeys.tryLock(u)) { this.counters.contention++; continue; }
        if (ukeys.gen(u) !== g) { ukeys.unlock(u); continue; }
        const state = ukeys.state(u);
        if (state === UKEY_OPERATIONAL || state === UKEY_INCONSISTENT || (state === UKEY_VISIBLE && purge)) {
          const missed = ukeys.dumpSeqOf(u) !== this.dumpSeq;
          let result: number, reason: DelReason | null = null;
          if (purge || state === UKEY_INCONSISTENT) {
            result = DELETE;
            reason = purge ? 'purge' : 'update_fail';
          } else if (!(missed && this.stale(u))) {
            result = KEEP;
          } else {
            // Missed by the dump and the tables changed: revalidate with the stats we have.
            const s = ukeys.statsOf(u);
            result = this.revalidateUkey(u, s.packets, s.bytes, s.used, s.tcpFlags, this.now());
            reason = this.lastReason;
          }
          if (missed && !purge && state !== UKEY_VISIBLE) {
            const m = ukeys.missedOf(u) + 1;
            ukeys.setMissed(u, m);
            if (m >= MAX_MISSED_DUMPS) {
              result = DELETE;
              reason = 'missing';
            }
          }
          if (result === DELETE) this.queueDelete(u, reason!, ops);
          else if (result === MODIFY) this.queueModify(u, ops);
        }
        ukeys.unlock(u);
        if (state === UKEY_EVICTED && ukeys.remove(u, g)) this.counters.removed++;
        if (ops.length >= REVALIDATE_MAX_BATCH) {
          this.pushOps(ops, true);
          ops.length = 0;
        }
      }
      if (ops.length > 0) {
        this.pushOps(ops, true);
        ops.length = 0;
      }
    }
  }

  private lastReason: DelReason | null = null;

  /** OVS revalidate_ukey (ukey locked). Pushes the stats of kept/modified flows. */
  private revalidateUkey(u: number, packets: number, bytes: number, used: number, tcpFlags: number, now: number): number {
    const ukeys = this.ukeys;
    const pushP = Math.max(0, packets - ukeys.pushedPackets(u));
    const pushB = Math.max(0, bytes - ukeys.pushedBytes(u));
    let result = DELETE;
    this.lastReason = null;
    let tr: Translation | null = null;
    if (this.stale(u)) {
      if (shouldRevalidate(pushP, ukeys.pushedUsed(u), now, this.dumpDuration, this.cfg.maxRevalidatorMs, this.cfg.minRevalidatePps)) {
        ukeys.keyInto(u, this.sKey);
        this.counters.retranslated++;
        try {
          tr = this.xlate.translate(this.sKey, 0);
        } catch {
          tr = null; // a translator must not throw; treat it as an xlate error
        }
        if (!tr || tr.error !== 0) {
          tr = null;
          this.lastReason = 'xlate_error';
        } else if (ukeys.maskNarrowerThan(u, tr.mask)) this.lastReason = 'wildcarded';
        else result = ukeys.actionsEqual(u, tr.actions) ? KEEP : MODIFY;
      } else {
        this.lastReason = 'too_expensive';
      }
    } else {
      result = KEEP;
    }
    if (result === DELETE) return result; // stats go with the delete
    // Credit the rules that forwarded these packets (an adopted ukey has none yet: the new ones).
    const adoptedBare = (ukeys.flagsOf(u) & UKEY_F_ADOPTED) !== 0 && ukeys.nRules(u) === 0;
    if (pushP > 0) {
      if (adoptedBare && tr) this.creditList(tr.rules, pushP, pushB, used);
      else this.creditUkey(u, pushP, pushB, used);
    }
    ukeys.setStats(u, Math.max(packets, ukeys.pushedPackets(u)), Math.max(bytes, ukeys.pushedBytes(u)), Math.max(used, ukeys.pushedUsed(u)), tcpFlags);
    if (tr) {
      if (!ukeys.setTranslation(u, tr.actions, tr.rules)) {
        this.lastReason = 'update_fail';
        return DELETE;
      }
      ukeys.setValidated(u, this.revalSeq, this.xlate.version);
    }
    return result;
  }

  private creditUkey(u: number, packets: number, bytes: number, used: number): void {
    const n = this.ukeys.nRules(u);
    for (let j = 0; j < n; j++) this.credits.add(this.ukeys.rule(u, j), packets, bytes, used);
    if (n > 0) {
      this.counters.creditedPackets += packets * n;
      this.counters.creditedBytes += bytes * n;
    }
  }

  private creditList(rules: ArrayLike<number>, packets: number, bytes: number, used: number): void {
    for (let j = 0; j < rules.length; j++) {
      this.credits.add(rules[j]!, packets, bytes, used);
      this.counters.creditedPackets += packets;
      this.counters.creditedBytes += bytes;
    }
  }

  /** Makes a ukey for a dumped flow that has none and returns it locked, or -1 (skip it). */
  private adopt(ufid: Uint32Array, now: number, ops: PendingOp[]): number {
    const g = this.flows.get(ufid);
    if (g.error !== 0 || !g.flow) return -1; // gone meanwhile
    const f = g.flow;
    const r = this.ukeys.install({
      ufid, key: f.key, mask: f.mask, actions: f.actions, rules: [], version: -1, revalSeq: -1, nowMs: now, flags: UKEY_F_ADOPTED,
    });
    if (r.ok) {
      this.ukeys.installFinish(r.ukey, r.gen, true);
      this.counters.adopted++;
    } else if (r.status !== 'exists') {
      // No ukey possible (conflict, no space): delete the flow, crediting it by translation.
      ops.push({ kind: DELETE, ukey: -1, gen: 0, reason: 'unexpected', ufid: ufid.slice(), key: f.key });
      return -1;
    }
    const u = this.ukeys.lookupLock(ufid);
    if (u === -2) this.counters.contention++;
    return u;
  }

  private queueDelete(u: number, reason: DelReason, ops: PendingOp[]): void {
    this.ukeys.transition(u, UKEY_EVICTING);
    ops.push({ kind: DELETE, ukey: u, gen: this.ukeys.gen(u), reason, ufid: null, key: null });
  }

  private queueModify(u: number, ops: PendingOp[]): void {
    ops.push({ kind: MODIFY, ukey: u, gen: this.ukeys.gen(u), reason: null, ufid: null, key: null });
  }

  /**
   * Runs the batch as one operate() (OVS push_dp_ops / push_ukey_ops) and settles each ukey:
   * delete → EVICTED and its final stats delta pushed (then, in the sweep, the ukey removed);
   * a failed modify → INCONSISTENT (deleted next round).
   */
  private pushOps(ops: PendingOp[], removeDeleted: boolean): void {
    const ukeys = this.ukeys;
    const fops: FlowOp[] = [];
    for (const op of ops) {
      if (op.ukey >= 0) {
        const ufid = new Uint32Array(4);
        ukeys.lock(op.ukey);
        ukeys.ufidInto(op.ukey, ufid);
        if (op.kind === DELETE) fops.push({ type: 'del', ufid });
        else {
          const key = new Uint32Array(FLOW_WORDS), mask = new Uint32Array(FLOW_WORDS);
          ukeys.keyInto(op.ukey, key);
          ukeys.maskInto(op.ukey, mask);
          fops.push({ type: 'put', flags: DPIF_FP_MODIFY, ufid, key, mask, actions: ukeys.actions(op.ukey) });
        }
        ukeys.unlock(op.ukey);
      } else {
        fops.push({ type: 'del', ufid: op.ufid! });
      }
    }
    let res: FlowOpResult[];
    try {
      res = this.flows.operate(fops);
    } catch (e) {
      // The ops were applied but their grace period timed out (a PMD stuck): the deletes' final
      // stats are unknown. Settle the ukeys so they do not stay EVICTING, then report.
      for (const op of ops) {
        if (op.ukey < 0) continue;
        ukeys.lock(op.ukey);
        if (ukeys.gen(op.ukey) === op.gen && op.kind === DELETE) ukeys.transition(op.ukey, UKEY_EVICTED);
        ukeys.unlock(op.ukey);
        this.counters.opErrors++;
      }
      throw e;
    }
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!, r = res[i]!;
      if (op.ukey < 0) {
        if (r.type === 'del' && r.error === 0) {
          this.counters.deleted.unexpected++;
          if (op.key && r.stats.packets > 0) {
            const tr = this.xlate.translate(op.key, 0);
            this.creditList(tr.rules, r.stats.packets, r.stats.bytes, r.stats.used);
          }
        }
        continue;
      }
      ukeys.lock(op.ukey);
      const alive = ukeys.gen(op.ukey) === op.gen;
      if (alive) {
        if (r.type === 'del') {
          ukeys.transition(op.ukey, UKEY_EVICTED);
          if (r.error === 0) {
            const s = r.stats;
            const dp = Math.max(0, s.packets - ukeys.pushedPackets(op.ukey));
            const db = Math.max(0, s.bytes - ukeys.pushedBytes(op.ukey));
            if (dp > 0) this.creditUkey(op.ukey, dp, db, Math.max(s.used, ukeys.pushedUsed(op.ukey)));
            ukeys.setStats(op.ukey, Math.max(s.packets, ukeys.pushedPackets(op.ukey)), Math.max(s.bytes, ukeys.pushedBytes(op.ukey)),
              Math.max(s.used, ukeys.pushedUsed(op.ukey)), s.tcpFlags);
            this.counters.deleted[op.reason!]++;
          } else {
            this.counters.opErrors++;
          }
        } else if (r.error !== 0) {
          ukeys.transition(op.ukey, UKEY_INCONSISTENT);
          this.counters.opErrors++;
        } else {
          this.counters.modified++;
        }
      }
      ukeys.unlock(op.ukey);
      if (alive && removeDeleted && r.type === 'del') {
        if (ukeys.remove(op.ukey, op.gen)) this.counters.removed++;
      }
    }
  }
}
