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
import { formatPort } from '../rules/ports.js';
import { MAC_ENTRY_AGE_STATIC, type MacLearning } from './mac-learning.js';

/** `fdb/show` text (with the trailing newline). */
export function formatFdbShow(ml: MacLearning): string {
  let s = ' port  VLAN  MAC                Age\n';
  for (const e of ml.entries()) {
    const age = ml.age(e);
    s += `${formatPort(e.port).padStart(5)}  ${String(e.vlan).padStart(4)}  ${formatEth(e.macHi, e.macLo)}  `;
    s += age === MAC_ENTRY_AGE_STATIC ? 'static\n' : `${String(age).padStart(3)}\n`;
  }
  return s;
}

/** `fdb/stats-show` text for bridge `bridgeName`. */
export function formatFdbStats(ml: MacLearning, bridgeName: string): string {
  const st = ml.stats();
  return `Statistics for bridge "${bridgeName}":\n` +
    `  Current/maximum MAC entries in the table: ${st.entries}/${st.maxEntries}\n` +
    `  Current static MAC entries in the table : ${st.staticEntries}\n` +
    `  Total number of learned MAC entries     : ${st.learned}\n` +
    `  Total number of expired MAC entries     : ${st.expired}\n` +
    `  Total number of evicted MAC entries     : ${st.evicted}\n` +
    `  Total number of port moved MAC entries  : ${st.moved}\n`;
}
