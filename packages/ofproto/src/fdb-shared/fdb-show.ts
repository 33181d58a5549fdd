/**
 * `fdb/show` and `fdb/stats-show` texts of a shared MAC table, exactly as ../mac-learning/fdb-format.ts
 * prints the in-process table (OVS 3.1 ofproto/ofproto-dpif.c ofproto_unixctl_fdb_show / _stats_show).
 */
import { formatEth } from '@tsvs/packet';
import { formatPort, type PortMap } from '../rules/ports.js';
import { MAC_ENTRY_AGE_STATIC } from '../mac-learning/mac-learning.js';
import type { SharedMacTable } from './shared-mac-table.js';

/**
 * `fdb/show` text (with the trailing newline): ` port  VLAN  MAC                Age`, one line per
 * entry, least recently used first. `portMap`: print port names (tsvs `fdb show --names`); OVS
 * prints numbers.
 */
export function formatSharedFdbShow(t: SharedMacTable, portMap?: PortMap): string {
  let s = ' port  VLAN  MAC                Age\n';
  for (const e of t.entries()) {
    s += `${formatPort(e.port, portMap).padStart(5)}  ${String(e.vlan).padStart(4)}  ${formatEth(e.macHi, e.macLo)}  `;
    s += e.age === MAC_ENTRY_AGE_STATIC ? 'static\n' : `${String(e.age).padStart(3)}\n`;
  }
  return s;
}

/** `fdb/stats-show` text for bridge `bridgeName`. */
export function formatSharedFdbStats(t: SharedMacTable, bridgeName: string): string {
  const st = t.stats();
  return `Statistics for bridge "${bridgeName}":\n` +
    `  Current/maximum MAC entries in the table: ${st.entries}/${st.maxEntries}\n` +
    `  Current static MAC entries in the table : ${st.staticEntries}\n` +
    `  Total number of learned MAC entries     : ${st.learned}\n` +
    `  Total number of expired MAC entries     : ${st.expired}\n` +
    `  Total number of evicted MAC entries     : ${st.evicted}\n` +
    `  Total number of port moved MAC entries  : ${st.moved}\n`;
}
