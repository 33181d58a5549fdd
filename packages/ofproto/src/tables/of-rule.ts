/**
 * One OpenFlow rule in the tables (OVS `struct rule` / `rule_dpif`): its match, priority,
 * actions, cookie, timeouts, times and statistics, and its visibility window in versions.
 *
 * Rules are immutable in what they match and do: a mod-flows replaces a rule by a new one (new
 * id) visible from the next version, as OVS does, so a packet translated at an older version
 * still sees the old actions. Statistics credited to a replaced rule are forwarded to its
 * successor (OVS rule_dpif `new_rule`), counts included unless the modification reset them.
 */
import type { OfAction } from '../rules/actions.js';
import type { ClsRule } from '../classifier/classifier.js';
import type { FlowStatsView } from '../rules/rule-format.js';

/** Why a rule left the tables (OVS ofp_flow_removed_reason, plus replaced). */
export type RuleRemovedReason = 'delete' | 'idle_timeout' | 'hard_timeout' | 'replaced';

export class OfRule implements FlowStatsView {
  /** @internal Classifier entry; set by OfTables. */
  cls!: ClsRule<OfRule>;
  /** Packets and bytes credited (revalidators), and the last use time (ms). */
  nPackets = 0;
  nBytes = 0;
  usedMs: number;
  /** The rule that replaced this one (mod-flows / add over an identical rule), if any. */
  successor: OfRule | null = null;
  /** Whether credits to this rule are counted on its successor (else only `used` is forwarded). */
  forwardCounts = true;
  /** Set when the rule is removed or replaced. */
  removedReason: RuleRemovedReason | null = null;

  constructor(
    /** Unique, increasing in creation order (deterministic for a given sequence of changes). */
    readonly id: number,
    readonly table: number,
    readonly priority: number,
    /**
     * Masked match key and mask (FLOW_WORDS words each; do not modify: they are the classifier
     * entry's key and its subtable's mask, shared with other rules of the same mask).
     */
    readonly key: Uint32Array,
    readonly mask: Uint32Array,
    readonly cookie: bigint,
    readonly idleTimeout: number,
    readonly hardTimeout: number,
    readonly importance: number,
    readonly flags: number,
    readonly actions: readonly OfAction[],
    readonly createdMs: number,
    readonly modifiedMs: number,
  ) {
    this.usedMs = modifiedMs;
  }

  /** First version the rule is visible in. */
  get addVersion(): number {
    return this.cls.addVersion;
  }

  /** First version the rule is no longer visible in (Number.MAX_SAFE_INTEGER while installed). */
  get removeVersion(): number {
    return this.cls.removeVersion;
  }

  /** True if a lookup made in `version` can see the rule. */
  visibleIn(version: number): boolean {
    return this.cls.visibleIn(version);
  }
}
