/**
 * `tsvs upcall show`: OVS 3.1's `ovs-appctl upcall/show` text (ofproto/ofproto-dpif-upcall.c
 * upcall_unixctl_show), followed by tsvs's additions, and a JSON form of the same data.
 *
 * OVS part (exactly, per datapath; the userspace datapath prints no "offloaded flows" line):
 *
 *   netdev@ovs-netdev:
 *     flows         : (current 0) (avg 0) (max 0) (limit 10000)
 *     dump duration : 1ms
 *     ufid enabled : true
 *   <blank line>
 *     5: (keys 0)                      one line per revalidator: thread id, ukeys in its umaps
 *
 * tsvs additions (after a blank line):
 *
 *     rounds        : 12
 *     deleted       : (idle 3) (revalidation 1) (flow limit 0) (purge 0)
 *     modified      : 2
 *     kept          : 150
 *     round time    : (last 3ms) (max 10ms)
 *
 * Counts are since the revalidators started; "revalidation" sums the deletes decided by
 * re-translation or bookkeeping (xlate error, wildcarded, too expensive, update failed, missing
 * from dumps, unexpected): the JSON form has each reason.
 */
import type { UpcallShowData } from '../revalidator/revalidators.js';

/** OVS upcall/show text for one datapath, without tsvs's additions. */
export function formatUpcallShowOvs(d: UpcallShowData): string {
  let s = `${d.dpName}:\n`;
  s += `  flows         : (current ${d.flows.current}) (avg ${d.flows.avg}) (max ${d.flows.max}) (limit ${d.flows.limit})\n`;
  s += `  dump duration : ${d.dumpDurationMs}ms\n`;
  s += `  ufid enabled : ${d.ufidEnabled ? 'true' : 'false'}\n`;
  s += '\n';
  for (const r of d.revalidators) s += `  ${r.id}: (keys ${r.keys})\n`;
  return s;
}

/** The whole `upcall show` text: OVS's part, a blank line, tsvs's additions. */
export function formatUpcallShow(d: UpcallShowData): string {
  let s = formatUpcallShowOvs(d);
  s += '\n';
  s += `  rounds        : ${d.rounds}\n`;
  s += `  deleted       : (idle ${d.deleted.idle}) (revalidation ${d.deleted.revalidation}) (flow limit ${d.deleted.flow_limit}) (purge ${d.deleted.purge})\n`;
  s += `  modified      : ${d.modified}\n`;
  s += `  kept          : ${d.kept}\n`;
  s += `  round time    : (last ${d.lastRoundMs}ms) (max ${d.maxRoundMs}ms)\n`;
  return s;
}

/** The JSON form (`--json`): the same data as plain JSON (snake_case keys as OVS names them). */
export function upcallShowJson(d: UpcallShowData): Record<string, unknown> {
  return {
    datapath: d.dpName,
    flows: { ...d.flows },
    dump_duration_ms: d.dumpDurationMs,
    ufid_enabled: d.ufidEnabled,
    revalidators: d.revalidators.map((r) => ({ id: r.id, keys: r.keys, dumped: r.dumped, swept: r.swept })),
    rounds: d.rounds,
    deleted: { ...d.deleted },
    deleted_by_reason: { ...d.deletedByReason },
    modified: d.modified,
    kept: d.kept,
    round_ms: { last: d.lastRoundMs, max: d.maxRoundMs },
    flow_limit_max: d.flowLimitMax,
    ukeys: d.ukeys,
    paused: d.paused,
    failed_rounds: d.failedRounds,
    counters: {
      dumped: d.counters.dumped, swept: d.counters.swept, retranslated: d.counters.retranslated, adopted: d.counters.adopted,
      contention: d.counters.contention, duplicate: d.counters.duplicate, removed: d.counters.removed, op_errors: d.counters.opErrors,
      credited_packets: d.counters.creditedPackets, credited_bytes: d.counters.creditedBytes,
    },
  };
}
