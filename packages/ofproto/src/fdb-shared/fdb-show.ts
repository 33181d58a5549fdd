/**
 * `fdb/show` and `fdb/stats-show` texts of a shared MAC table: the same printer as the in-process
 * table's (../mac-learning/fdb-format.ts; OVS 3.1 ofproto/ofproto-dpif.c ofproto_unixctl_fdb_show).
 */
import type { PortMap } from '../rules/ports.js';
import { formatFdbLines, formatFdbStatsText } from '../mac-learning/fdb-format.js';
import type { SharedMacTable } from './shared-mac-table.js';

/** `fdb/show` text (with the trailing newline); `portMap` prints port names. */
export function formatSharedFdbShow(t: SharedMacTable, portMap?: PortMap): string {
  return formatFdbLines(t.entries(), portMap);
}

/** `fdb/stats-show` text for bridge `bridgeName`. */
export function formatSharedFdbStats(t: SharedMacTable, bridgeName: string): string {
  return formatFdbStatsText(t.stats(), bridgeName);
}
