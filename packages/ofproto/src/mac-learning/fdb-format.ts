/**
 * The MAC learning table as `ovs-appctl fdb/show BRIDGE` and `fdb/stats-show BRIDGE` print it
 * (OVS 3.1 ofproto/ofproto-dpif.c ofproto_unixctl_fdb_show / _fdb_stats_show):
 *
 * ```
 *  port  VLAN  MAC                Age
 *     1     0  00:60:97:94:82:df    3
 * LOCAL    10  50:54:00:00:00:01  static
 * ```
 * One line per entry, least recently used first; the port is the OpenFlow port number (or its
 * reserved name), as OVS prints it without a port-name map.
 */
import { formatEth } from '@tsvs/packet';
import { formatPort, type PortMap } from '../rules/ports.js';
import { MAC_ENTRY_AGE_STATIC, type MacLearning, type MacLearningStats } from './mac-learning.js';

/** One `fdb/show` line's data: the entry's VLAN, MAC (hi 16 / lo 32 bits), port and age in s. */
export interface FdbLine {
  readonly vlan: number;
  readonly macHi: number;
  readonly macLo: number;
  readonly port: number;
  /** Seconds since last refreshed, or MAC_ENTRY_AGE_STATIC. */
  readonly age: number;
}

/**
 * `fdb/show` text (with the trailing newline) of any MAC table's entries, least recently used
 * first. `portMap`: print port names (tsvs `fdb show --names`); OVS prints numbers.
 */
export function formatFdbLines(lines: Iterable<FdbLine>, portMap?: PortMap): string {
  let s = ' port  VLAN  MAC                Age\n';
  for (const e of lines) {
    s += `${formatPort(e.port, portMap).padStart(5)}  ${String(e.vlan).padStart(4)}  ${formatEth(e.macHi, e.macLo)}  `;
    s += e.age === MAC_ENTRY_AGE_STATIC ? 'static\n' : `${String(e.age).padStart(3)}\n`;
  }
  return s;
}

/** `fdb/stats-show` text for bridge `bridgeName` from any MAC table's counters. */
export function formatFdbStatsText(st: MacLearningStats, bridgeName: string): string {
  return `Statistics for bridge "${bridgeName}":\n` +
    `  Current/maximum MAC entries in the table: ${st.entries}/${st.maxEntries}\n` +
    `  Current static MAC entries in the table : ${st.staticEntries}\n` +
    `  Total number of learned MAC entries     : ${st.learned}\n` +
    `  Total number of expired MAC entries     : ${st.expired}\n` +
    `  Total number of evicted MAC entries     : ${st.evicted}\n` +
    `  Total number of port moved MAC entries  : ${st.moved}\n`;
}

/** `fdb/show` text of the in-process table (with the trailing newline). */
export function formatFdbShow(ml: MacLearning, portMap?: PortMap): string {
  const lines: FdbLine[] = [];
  for (const e of ml.entries()) lines.push({ vlan: e.vlan, macHi: e.macHi, macLo: e.macLo, port: e.port, age: ml.age(e) });
  return formatFdbLines(lines, portMap);
}

/** `fdb/stats-show` text for bridge `bridgeName`. */
export function formatFdbStats(ml: MacLearning, bridgeName: string): string {
  return formatFdbStatsText(ml.stats(), bridgeName);
}
