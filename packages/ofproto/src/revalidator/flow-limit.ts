/**
 * The revalidators' arithmetic, as OVS 3.1 ofproto/ofproto-dpif-upcall.c does it.
 */

/** OVS's floor of the dynamic flow limit. */
export const FLOW_LIMIT_MIN = 1000;
/** Cap of the starting dynamic flow limit. */
export const FLOW_LIMIT_START = 10000;

/** Starting dynamic flow limit: min(flow-limit, 10000) (OVS udpif_create). */
export function initialFlowLimit(flowLimitMax: number): number {
  return Math.min(flowLimitMax, FLOW_LIMIT_START);
}

/**
 * The flow limit after a round (OVS udpif_revalidator, leader, after the sweep). `durationMs` is
 * the round's duration (at least 1), `nFlows` the datapath flow count read when the round began.
 *   duration > 2000 ms          → limit /= floor(duration / 1000)
 *   duration > 1300 ms          → limit = floor(limit * 3 / 4)
 *   duration < 1000 ms and limit < nFlows * 1000 / duration → limit += 1000
 * then clamped to [1000, flowLimitMax] (max applied last, as OVS: MIN(flow_limit_max, MAX(limit, 1000))).
 * Integer arithmetic as in C (unsigned int limit).
 */
export function adaptFlowLimit(limit: number, durationMs: number, nFlows: number, flowLimitMax: number): number {
  const d = Math.max(1, Math.floor(durationMs));
  let l = limit;
  if (d > 2000) l = Math.floor(l / Math.floor(d / 1000));
  else if (d > 1300) l = Math.floor((l * 3) / 4);
  else if (d < 1000 && l < Math.floor((nFlows * 1000) / d)) l += 1000;
  return Math.min(flowLimitMax, Math.max(l, FLOW_LIMIT_MIN));
}

/**
 * Whether a flow whose tables changed is worth re-translating (OVS 3.1 should_revalidate): always
 * the first time it is dumped (`lastUsed` 0) and whenever the last round took less than half of
 * max-revalidator; otherwise only if it sees at least min-revalidate-pps (mean time between its
 * packets since `lastUsed` below 1000 / min-revalidate-pps ms). A flow not worth it is deleted.
 * Integer arithmetic as in C.
 */
export function shouldRevalidate(
  packets: number, lastUsed: number, nowMs: number, dumpDurationMs: number, maxRevalidatorMs: number, minRevalidatePps: number,
): boolean {
  if (!lastUsed) return true;
  if (dumpDurationMs < maxRevalidatorMs / 2) return true;
  const p = Math.max(packets, 1);
  const now = Math.max(lastUsed, nowMs);
  const metric = Math.floor((now - lastUsed) / p);
  return metric < Math.floor(1000 / Math.max(1, minRevalidatePps));
}

/** The max-idle in force for a batch (OVS revalidate): 100 ms while the datapath holds more flows than the limit. */
export function effectiveMaxIdle(nFlows: number, flowLimit: number, maxIdleMs: number): number {
  return nFlows > flowLimit ? 100 : maxIdleMs;
}

/** OVS revalidate's emergency: more than twice the limit → delete every flow dumped while it holds. */
export function killThemAll(nFlows: number, flowLimit: number): boolean {
  return nFlows > flowLimit * 2;
}
