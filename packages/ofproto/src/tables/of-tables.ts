/**
 * Versioned OpenFlow tables (OVS ofproto/ofproto.c tables and versions over lib/classifier.c).
 *
 * - Tables 0..nTables-1 (default 255), one Classifier each.
 * - Versions: `version` is the current one. A change (`apply` of one flow mod or a batch) is made
 *   in version+1: new rules become visible from it, removed or replaced rules invisible from it;
 *   then the version is bumped. A batch is all-or-nothing: on an error nothing changes and the
 *   version stays. A lookup names the version it reads, so a translation that started before a
 *   change keeps seeing one consistent set of rules.
 * - Readers that need an old version for a while pin it (`acquireVersion` / `releaseVersion`);
 *   rules invisible in every version that is current or pinned are taken out of the classifier
 *   (`gc`, run after every change and on release).
 * - Flow mod semantics are OVS 3.1's (ofproto.c add_flow_start, modify_flows_start__,
 *   collect_rules_loose/strict, delete_flows_start__, replace_rule_start) with ofproto-dpif's
 *   statistics forwarding (rule_insert): see `apply`.
 * - Timeouts: `expire(now)` removes rules whose hard timeout (from the last add/modify) or idle
 *   timeout (from the last use) has passed, in one change (OVS rule_expire).
 * - Statistics come from revalidators: `creditStats(ruleId, packets, bytes, usedMs)`.
 *
 * Determinism: the same sequence of `apply`/`expire` calls (with the same times) gives the same
 * rule ids and versions, so replicas of the tables in other threads stay in step when they are
 * fed the same changes (FlowMod is plain data and can be posted).
 *
 * Lookups allocate nothing; changes allocate.
 *
 * Costs (n rules installed, k rules a change selects): add, modify_strict, delete_strict O(1) per
 * FlowMod plus the classifier's insert/remove; modify/delete (loose) O(k) once the classifier has
 * an index for the criteria mask (it builds one on the mask's second use), else O(rules in
 * covering subtables) as OVS; by an exact cookie (`cookie=C/-1`) with a catch-all match or few
 * rules under that cookie, O(rules with that cookie) (OVS's cookie index); a version bump O(1)
 * plus the rules it collects (removed rules wait in a queue ordered by removal version); `expire`
 * O(rules with a timeout). Tables are created on first use (a replica of 255 empty tables costs
 * nothing).
 */
import { FLOW_WORDS } from '@tsvs/packet';
import { Classifier, DEFAULT_PREFIX_FIELDS, type PrefixField } from '../classifier/classifier.js';
import type { OfAction } from '../rules/actions.js';
import {
  FF_CHECK_OVERLAP, FF_RESET_COUNTS, TABLE_ANY, type FlowMod,
} from '../rules/flow-mod.js';
import { OFPP_CONTROLLER, OFPP_NONE, type PortMap } from '../rules/ports.js';
import { formatFlowStats } from '../rules/rule-format.js';
import { OfRule, type RuleRemovedReason } from './of-rule.js';

/** A flow mod refused by the tables; `code` is OVS's OpenFlow error name. */
export class OfTablesError extends Error {
  override name = 'OfTablesError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface OfTablesOptions {
  /** Number of tables (1..255). Default 255 (0..254), as OVS. */
  nTables?: number;
  /** Prefix-tracking fields of every table's classifier. Default nw_dst, nw_src (OVS). */
  prefixFields?: readonly PrefixField[];
  /** Clock in milliseconds. Default Date.now. */
  now?: () => number;
  /** How long a replaced rule's id keeps forwarding credited stats after it left the tables (ms). Default 60000. */
  forwardRetentionMs?: number;
}

/** What one `apply` did. */
export interface ApplyResult {
  /** The new current version. */
  version: number;
  /** Rules added (including replacements for modified rules). */
  added: OfRule[];
  /** Rules that were replaced (add over an identical rule, modify), paired with their successors. */
  replaced: Array<[OfRule, OfRule]>;
  /** Rules deleted. */
  deleted: OfRule[];
}

export interface ExpiredRule {
  rule: OfRule;
  reason: 'idle_timeout' | 'hard_timeout';
}

/** Selection of rules as dump-flows / del-flows take it. */
export interface RuleCriteria {
  /** Table, or TABLE_ANY (default) for all. */
  table?: number;
  /** Loose match: rules at least as specific. Omitted: all rules. */
  key?: Uint32Array;
  mask?: Uint32Array;
  /** Strict: exactly this match and priority. */
  strict?: boolean;
  priority?: number;
  cookie?: bigint;
  cookieMask?: bigint;
  /** Only rules that output to this port (OFPP_NONE = any). */
  outPort?: number;
  /** Version to read. Default: current. */
  version?: number;
}

/**
 * What a change did so far, undone backwards if it fails: for each step its kind (UNDO_INSERT: a
 * rule was inserted; UNDO_RETIRE: a rule was made invisible) and its rule. Plain arrays rather
 * than closures: a change of N rules allocates no N functions.
 */
interface Undo {
  kinds: number[];
  rules: OfRule[];
}
const UNDO_INSERT = 0;
const UNDO_RETIRE = 1;

export class OfTables {
  readonly nTables: number;
  /** One classifier per table, created on first insert (undefined: the table is empty). */
  private readonly cls: (Classifier<OfRule> | undefined)[];
  private readonly prefixFields: readonly PrefixField[];
  private current = 1;
  private nextId = 1;
  private readonly now: () => number;
  private readonly forwardRetentionMs: number;
  /** Installed rules and rules waiting for gc, by id. */
  private readonly byId = new Map<number, OfRule>();
  /**
   * Rules made invisible from some version and still in a classifier, from `pendingHead` on, in
   * order of removeVersion (every change retires rules in version+1, which only grows).
   */
  private pending: OfRule[] = [];
  private pendingHead = 0;
  /** Rules in the classifiers (installed or waiting for gc) by cookie (OVS ofproto->cookies). */
  private readonly byCookie = new Map<bigint, Set<OfRule>>();
  /** Installed rules with a timeout. */
  private readonly timed = new Set<OfRule>();
  /** Removed rules still forwarding stats: id -> [rule, time of removal]. */
  private readonly forwarding = new Map<number, [OfRule, number]>();
  private readonly pinned = new Map<number, number>();
  /** Installed rules per table (visible in the current version). */
  private readonly counts: Int32Array;

  constructor(opts: OfTablesOptions = {}) {
    this.nTables = opts.nTables ?? 255;
    if (!(this.nTables >= 1 && this.nTables <= 255)) throw new Error(`nTables must be 1..255, got ${this.nTables}`);
    this.prefixFields = opts.prefixFields ?? DEFAULT_PREFIX_FIELDS;
    this.cls = new Array<Classifier<OfRule> | undefined>(this.nTables).fill(undefined);
    this.counts = new Int32Array(this.nTables);
    this.now = opts.now ?? Date.now;
    this.forwardRetentionMs = opts.forwardRetentionMs ?? 60000;
  }

  /** The current version: lookups made now should use it. */
  get version(): number {
    return this.current;
  }

  /** Number of installed rules (visible in the current version), in one table or all. */
  nRules(table?: number): number {
    if (table !== undefined) return this.counts[table] ?? 0;
    let n = 0;
    for (let i = 0; i < this.nTables; i++) n += this.counts[i]!;
    return n;
  }

  /** The classifier of a table (read-only use: lookups, diagnostics). Undefined past the last table. */
  classifier(table: number): Classifier<OfRule> {
    return table >= 0 && table < this.nTables ? this.clsAt(table) : this.cls[table]!;
  }

  private clsAt(table: number): Classifier<OfRule> {
    let c = this.cls[table];
    if (!c) {
      c = new Classifier<OfRule>(this.prefixFields);
      this.cls[table] = c;
    }
    return c;
  }

  /**
   * The highest-priority rule of `table` visible in `version` that matches the flow key at
   * `flow[fb..]`, or null; ORs the bits consulted into `wc[wb..]` if given (see Classifier).
   * Allocates nothing. Returns null for a table that does not exist.
   */
  lookup(table: number, flow: Uint32Array, fb: number, version: number, wc?: Uint32Array | null, wb = 0): OfRule | null {
    const c = this.cls[table];
    if (!c) return null;
    const r = c.lookup(flow, fb, version, wc, wb);
    return r ? r.payload : null;
  }

  /** Rule by id (installed, or removed but not yet collected), else undefined. */
  getRule(id: number): OfRule | undefined {
    return this.byId.get(id);
  }

  /** Pins the current version for a reader; release it with `releaseVersion`. */
  acquireVersion(): number {
    const v = this.current;
    this.pinned.set(v, (this.pinned.get(v) ?? 0) + 1);
    return v;
  }

  /** Releases a version pinned by `acquireVersion`. */
  releaseVersion(v: number): void {
    const n = this.pinned.get(v);
    if (n === undefined) return;
    if (n <= 1) this.pinned.delete(v);
    else this.pinned.set(v, n - 1);
    this.gc();
  }

  /** The oldest version a lookup may still use: the current one or an older pinned one. */
  get oldestVersion(): number {
    let v = this.current;
    for (const p of this.pinned.keys()) if (p < v) v = p;
    return v;
  }

  /**
   * Takes out of the classifiers every rule invisible in all usable versions. Returns how many.
   * O(1) plus the rules collected: the queue is in removal order, so it stops at the first rule a
   * usable version still sees.
   */
  gc(): number {
    const pending = this.pending;
    if (this.pendingHead >= pending.length) return 0;
    const oldest = this.oldestVersion;
    let n = 0;
    let at = 0;
    while (this.pendingHead < pending.length) {
      const r = pending[this.pendingHead]!;
      if (r.removeVersion > oldest) break;
      pending[this.pendingHead++] = undefined as unknown as OfRule;
      this.cls[r.table]!.remove(r.cls);
      this.byId.delete(r.id);
      this.cookieDel(r);
      if (r.successor) this.forwarding.set(r.id, [r, at || (at = this.now())]);
      n++;
    }
    if (this.pendingHead === pending.length) {
      pending.length = 0;
      this.pendingHead = 0;
    } else if (this.pendingHead > 1024 && this.pendingHead * 2 > pending.length) {
      this.pending = pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    return n;
  }

  /** Rules waiting for gc (removed or replaced, still visible to a pinned version). */
  get nPending(): number {
    return this.pending.length - this.pendingHead;
  }

  private cookieAdd(r: OfRule): void {
    const s = this.byCookie.get(r.cookie);
    if (s) s.add(r);
    else this.byCookie.set(r.cookie, new Set([r]));
  }

  private cookieDel(r: OfRule): void {
    const s = this.byCookie.get(r.cookie);
    if (!s) return;
    s.delete(r);
    if (s.size === 0) this.byCookie.delete(r.cookie);
  }

  /**
   * Credits statistics to a rule (from revalidators): adds packets and bytes and moves `used`
   * forward. Credits to a replaced rule go to its successor (counts only if the change kept
   * them), as OVS does. Returns false if the rule is unknown (long gone).
   */
  creditStats(ruleId: number, packets: number, bytes: number, usedMs: number): boolean {
    let r = this.byId.get(ruleId) ?? this.forwarding.get(ruleId)?.[0];
    if (!r) return false;
    let counts = true;
    while (r.successor) {
      counts = counts && r.forwardCounts;
      r = r.successor;
    }
    if (counts) {
      r.nPackets += packets;
      r.nBytes += bytes;
    }
    if (usedMs > r.usedMs) r.usedMs = usedMs;
    return true;
  }

  /**
   * Applies one flow mod or a batch atomically in a new version (see the module comment).
   * Semantics (OVS 3.1):
   * - add: table default 0. An identical rule (same table, match, priority) visible now is
   *   replaced; its statistics carry over unless `reset_counts`, its cookie unless a new one is
   *   given. `check_overlap` refuses a rule that overlaps one of the same priority.
   * - modify / modify_strict: rules selected loosely (at least as specific as the match) or
   *   strictly (same match and priority), in one table or all, by cookie mask; each is replaced
   *   by a rule with the new actions and (if `cookie=` was given) cookie, keeping timeouts,
   *   flags, importance, creation time and statistics. With no rule selected, a modify without
   *   a cookie mask adds the rule (OpenFlow 1.0 semantics, what ovs-ofctl mod-flows does).
   * - delete / delete_strict: rules selected as above, also by out_port.
   * @throws OfTablesError (OFPBRC_BAD_TABLE_ID, OFPBIC_BAD_TABLE_ID, OFPFMFC_OVERLAP); nothing
   *   changes then.
   */
  apply(mods: FlowMod | readonly FlowMod[]): ApplyResult {
    const list = Array.isArray(mods) ? (mods as readonly FlowMod[]) : [mods as FlowMod];
    const nv = this.current + 1;
    const now = this.now();
    const undo: Undo = { kinds: [], rules: [] };
    const result: ApplyResult = { version: nv, added: [], replaced: [], deleted: [] };
    const touched = new Set<Classifier<OfRule>>();
    const idBefore = this.nextId;
    try {
      for (const fm of list) this.applyOne(fm, nv, now, undo, result, touched);
    } catch (e) {
      this.rollback(undo);
      this.nextId = idBefore;
      for (const c of touched) c.publish();
      throw e;
    }
    for (const c of touched) c.publish();
    // Commit: bookkeeping that is not undone.
    for (const [old, nu] of result.replaced) {
      old.successor = nu;
      old.removedReason = 'replaced';
    }
    for (const r of result.deleted) r.removedReason = 'delete';
    this.current = nv;
    this.gc();
    return result;
  }

  /** Undoes the steps of a failed change, last first. */
  private rollback(undo: Undo): void {
    for (let i = undo.kinds.length - 1; i >= 0; i--) {
      const r = undo.rules[i]!;
      const c = this.cls[r.table]!;
      if (undo.kinds[i] === UNDO_INSERT) {
        c.remove(r.cls);
        this.byId.delete(r.id);
        this.cookieDel(r);
        this.counts[r.table]!--;
        this.timed.delete(r);
      } else {
        c.restoreVisibility(r.cls);
        this.counts[r.table]!++;
        if (r.idleTimeout || r.hardTimeout) this.timed.add(r);
        this.pending.pop();
      }
    }
  }

  private checkTable(t: number): void {
    if (t >= this.nTables) throw new OfTablesError('OFPBRC_BAD_TABLE_ID', `table ${t} does not exist (tables 0..${this.nTables - 1})`);
  }

  private checkActionTables(actions: readonly OfAction[], table: number): void {
    for (const a of actions) {
      if (a.type === 'goto_table' && (a.table <= table || a.table >= this.nTables)) {
        throw new OfTablesError('OFPBIC_BAD_TABLE_ID', `goto_table:${a.table} in table ${table}: must go to a later table, at most ${this.nTables - 1}`);
      }
    }
  }

  private begin(c: Classifier<OfRule>, touched: Set<Classifier<OfRule>>): void {
    if (!touched.has(c)) {
      touched.add(c);
      c.defer();
    }
  }

  private insertRule(
    table: number, priority: number, actions: readonly OfAction[], key: Uint32Array, mask: Uint32Array, cookie: bigint,
    idle: number, hard: number, importance: number, flags: number, createdMs: number, now: number,
    nv: number, undo: Undo, touched: Set<Classifier<OfRule>>,
  ): OfRule {
    const c = this.clsAt(table);
    this.begin(c, touched);
    const id = this.nextId++;
    // The classifier copies and masks the key; the rule shares that copy and the subtable's mask
    // (both read-only), so a rule costs one key array, not three.
    const { rule: cr, replaced } = c.insert(key, 0, mask, 0, priority, null as unknown as OfRule, nv);
    if (replaced) throw new Error('internal: classifier displaced a rule'); // old rules are made invisible first
    const rule = new OfRule(id, table, priority, cr.key, cr.mask, cookie, idle, hard, importance, flags, actions, createdMs, now);
    cr.payload = rule;
    rule.cls = cr;
    this.byId.set(id, rule);
    this.cookieAdd(rule);
    this.counts[table]!++;
    if (idle || hard) this.timed.add(rule);
    undo.kinds.push(UNDO_INSERT);
    undo.rules.push(rule);
    return rule;
  }

  private retire(old: OfRule, nv: number, undo: Undo, touched: Set<Classifier<OfRule>>): void {
    const c = this.clsAt(old.table);
    this.begin(c, touched);
    c.makeInvisible(old.cls, nv);
    this.counts[old.table]!--;
    this.timed.delete(old);
    this.pending.push(old);
    undo.kinds.push(UNDO_RETIRE);
    undo.rules.push(old);
  }

  /** Rules selected by a modify/delete (OVS collect_rules_loose / collect_rules_strict). */
  private collect(fm: FlowMod, nv: number, strict: boolean, useOutPort: boolean): OfRule[] {
    if (fm.table !== TABLE_ANY) this.checkTable(fm.table);
    return this.select({
      table: fm.table, key: fm.key, mask: fm.mask, strict, priority: fm.priority,
      cookie: fm.cookie, cookieMask: fm.cookieMask, outPort: useOutPort ? fm.outPort : OFPP_NONE, version: nv,
    });
  }

  /** Rules visible in `c.version` (default current) selected by `c`, in table then creation order. */
  select(c: RuleCriteria): OfRule[] {
    const version = c.version ?? this.current;
    const table = c.table ?? TABLE_ANY;
    const out: OfRule[] = [];
    const cookieMask = c.cookieMask ?? 0n;
    const cookie = c.cookie ?? 0n;
    const outPort = c.outPort ?? OFPP_NONE;
    const key = c.key ?? new Uint32Array(FLOW_WORDS);
    const mask = c.mask ?? new Uint32Array(FLOW_WORDS);
    const priority = c.priority ?? 32768;
    if (cookieMask === COOKIE_MAX && !c.strict) {
      const byCookie = this.selectByCookie(table, key, mask, cookie, outPort, version);
      if (byCookie) return byCookie;
    }
    for (let t = table === TABLE_ANY ? 0 : table; t < this.nTables; t++) {
      if (table !== TABLE_ANY && t !== table) break;
      const cl = this.cls[t];
      if (!cl || cl.nRules === 0) continue;
      let found: OfRule[];
      if (c.strict) {
        const r = cl.findExactly(key, 0, mask, 0, priority, version);
        found = r ? [r.payload] : [];
      } else {
        found = cl.matchingLoose(key, 0, mask, 0, version).map((r) => r.payload);
        found.sort((a, b) => a.id - b.id);
      }
      for (const r of found) {
        if (cookieMask !== 0n && ((r.cookie ^ cookie) & cookieMask) !== 0n) continue;
        if (outPort !== OFPP_NONE && !outputsToPort(r.actions, outPort)) continue;
        out.push(r);
      }
    }
    return out;
  }

  /**
   * Loose selection through the cookie index (OVS collect_rules_loose with an exact cookie):
   * the same rules, in the same order, as the classifier path. Null when that path is likely
   * cheaper (a specific match and many rules under the cookie).
   */
  private selectByCookie(
    table: number, key: Uint32Array, mask: Uint32Array, cookie: bigint, outPort: number, version: number,
  ): OfRule[] | null {
    const rules = this.byCookie.get(cookie);
    if (!rules) return [];
    let catchAll = true;
    for (let i = 0; i < FLOW_WORDS; i++) {
      if (mask[i] !== 0) {
        catchAll = false;
        break;
      }
    }
    if (!catchAll && rules.size > COOKIE_INDEX_MAX_SCAN) return null;
    const out: OfRule[] = [];
    for (const r of rules) {
      if (table !== TABLE_ANY && r.table !== table) continue;
      if (!r.visibleIn(version)) continue;
      let ok = true;
      for (let i = 0; i < FLOW_WORDS; i++) {
        const m = mask[i]!;
        // Loose: the rule's mask has every criteria bit, and the keys agree under the criteria.
        if ((m & ~r.mask[i]!) !== 0 || ((r.key[i]! ^ key[i]!) & m) !== 0) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (outPort !== OFPP_NONE && !outputsToPort(r.actions, outPort)) continue;
      out.push(r);
    }
    out.sort((a, b) => a.table - b.table || a.id - b.id);
    return out;
  }

  private overlaps(table: number, fm: FlowMod, nv: number): boolean {
    const c = this.cls[table];
    return c ? c.overlaps(fm.key, 0, fm.mask, 0, fm.priority, nv) : false;
  }

  private addFlow(fm: FlowMod, nv: number, now: number, undo: Undo, result: ApplyResult, touched: Set<Classifier<OfRule>>): void {
    const table = fm.table === TABLE_ANY ? 0 : fm.table;
    this.checkTable(table);
    this.checkActionTables(fm.actions, table);
    const existing = this.cls[table]?.findExactly(fm.key, 0, fm.mask, 0, fm.priority, nv) ?? null;
    const old = existing ? existing.payload : null;
    if (!old && fm.flags & FF_CHECK_OVERLAP && this.overlaps(table, fm, nv)) {
      throw new OfTablesError('OFPFMFC_OVERLAP', `rule overlaps an existing rule of priority ${fm.priority} in table ${table} (check_overlap)`);
    }
    let cookie = fm.newCookie ?? 0n;
    if (old && (cookie === COOKIE_MAX || cookie === old.cookie)) cookie = old.cookie;
    if (old) this.retire(old, nv, undo, touched);
    const nu = this.insertRule(
      table, fm.priority, fm.actions, fm.key, fm.mask, cookie, fm.idleTimeout, fm.hardTimeout, fm.importance, fm.flags,
      now, now, nv, undo, touched,
    );
    if (old) this.inheritStats(old, nu, fm, result);
    result.added.push(nu);
  }

  private inheritStats(old: OfRule, nu: OfRule, fm: FlowMod, result: ApplyResult): void {
    const keep = !(fm.flags & FF_RESET_COUNTS);
    if (keep) {
      nu.nPackets = old.nPackets;
      nu.nBytes = old.nBytes;
    }
    nu.usedMs = old.usedMs;
    old.forwardCounts = keep;
    result.replaced.push([old, nu]);
  }

  private applyOne(fm: FlowMod, nv: number, now: number, undo: Undo, result: ApplyResult, touched: Set<Classifier<OfRule>>): void {
    switch (fm.command) {
      case 'add':
        this.addFlow(fm, nv, now, undo, result, touched);
        return;
      case 'modify':
      case 'modify_strict': {
        const olds = this.collect(fm, nv, fm.command === 'modify_strict', false);
        if (olds.length === 0) {
          if (fm.newCookie !== null && fm.newCookie !== COOKIE_MAX && fm.cookieMask === 0n) {
            this.addFlow(fm, nv, now, undo, result, touched);
          }
          return;
        }
        for (const old of olds) this.checkActionTables(fm.actions, old.table);
        for (const old of olds) {
          const changeCookie = fm.modifyCookie && fm.newCookie !== null && fm.newCookie !== COOKIE_MAX && fm.newCookie !== old.cookie;
          const cookie = changeCookie ? fm.newCookie! : old.cookie;
          this.retire(old, nv, undo, touched);
          const nu = this.insertRule(
            old.table, old.priority, fm.actions, old.key, old.mask, cookie, old.idleTimeout, old.hardTimeout, old.importance,
            old.flags, old.createdMs, now, nv, undo, touched,
          );
          this.inheritStats(old, nu, fm, result);
          result.added.push(nu);
        }
        return;
      }
      case 'delete':
      case 'delete_strict': {
        const olds = this.collect(fm, nv, fm.command === 'delete_strict', true);
        for (const old of olds) {
          this.retire(old, nv, undo, touched);
          result.deleted.push(old);
        }
        return;
      }
    }
  }

  /**
   * Removes the rules whose timeout has passed at `nowMs` (default: the clock), in one change:
   * hard timeout counted from the last add/modify, idle timeout from the last use (OVS rule_expire:
   * expired when now > time + timeout). Returns what was removed and why (empty: no change made).
   */
  expire(nowMs: number = this.now()): ExpiredRule[] {
    const out: ExpiredRule[] = [];
    for (const r of this.timed) {
      if (r.hardTimeout && nowMs > r.modifiedMs + r.hardTimeout * 1000) out.push({ rule: r, reason: 'hard_timeout' });
      else if (r.idleTimeout && nowMs > r.usedMs + r.idleTimeout * 1000) out.push({ rule: r, reason: 'idle_timeout' });
    }
    // Forwarding entries of long-gone replaced rules: the map is in collection order, oldest first.
    for (const [id, [, at]] of this.forwarding) {
      if (nowMs - at <= this.forwardRetentionMs) break;
      this.forwarding.delete(id);
    }
    if (out.length === 0) return out;
    out.sort((a, b) => a.rule.id - b.rule.id);
    const nv = this.current + 1;
    const undo: Undo = { kinds: [], rules: [] };
    const touched = new Set<Classifier<OfRule>>();
    for (const e of out) this.retire(e.rule, nv, undo, touched);
    for (const c of touched) c.publish();
    for (const e of out) e.rule.removedReason = e.reason as RuleRemovedReason;
    this.current = nv;
    this.gc();
    return out;
  }

  /**
   * `ovs-ofctl dump-flows` lines for the rules selected by `criteria` (default: all), sorted by
   * table, then priority (highest first), then age (oldest first).
   */
  dumpFlows(
    criteria: RuleCriteria = {},
    opts: { showStats?: boolean; showFlags?: boolean; portMap?: PortMap; nowMs?: number } = {},
  ): string[] {
    const rules = this.select(criteria);
    rules.sort((a, b) => a.table - b.table || b.priority - a.priority || a.id - b.id);
    const nowMs = opts.nowMs ?? this.now();
    return rules.map((r) => formatFlowStats(r, {
      nowMs, showStats: opts.showStats ?? true, showFlags: opts.showFlags ?? false, portMap: opts.portMap,
    }));
  }
}

const COOKIE_MAX = 0xffffffffffffffffn;
/** A loose selection with a specific match goes through the cookie index only below this many rules under the cookie. */
const COOKIE_INDEX_MAX_SCAN = 256;

/** OVS ofpacts_output_to_port: an output action to `port`, or a controller action for CONTROLLER. */
export function outputsToPort(actions: readonly OfAction[], port: number): boolean {
  for (const a of actions) {
    if (a.type === 'output' && a.port === port) return true;
    if (a.type === 'controller' && port === OFPP_CONTROLLER) return true;
  }
  return false;
}
