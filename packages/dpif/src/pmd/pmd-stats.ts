/**
 * PMD statistics: the counters each PMD thread keeps (OVS lib/dpif-netdev-perf.h enum
 * pmd_stat_type) and the text of `ovs-appctl dpif-netdev/pmd-stats-show` (lib/dpif-netdev.c
 * pmd_info_show_stats, OVS 3.1).
 *
 * Storage: a packages/shm CounterSet, one block per PMD id, written by that PMD only (plain
 * Float64 stores, once per rx burst, never per packet) and summed or read by the control thread.
 * `clear` does what OVS's pmd_perf_stats_clear does from another thread: the reader remembers the
 * current values and subtracts them from later reads (the writer is never disturbed).
 *
 * Cycles: OVS counts TSC cycles; tsvs counts nanoseconds of `performance.now()`. "idle cycles"
 * are the ns of loop iterations that received and sent nothing, "processing cycles" those of the
 * others; time asleep (waiting on the doorbell) is neither, as in OVS where pmd-maxsleep sleeps
 * are subtracted from the iteration (it is in `sleep_ns`). So "avg cycles per packet" reads as ns
 * per packet.
 */

/** Counter names, in CounterSet order. */
export const PMD_COUNTER_NAMES = [
  'recv', //          PMD_STAT_RECV: packets received from rxqs
  'recirc', //        PMD_STAT_RECIRC: always 0 (no recirculation yet)
  'phwol_hit', //     always 0 (no hardware offload)
  'mfex_opt_hit', //  always 0 (one miniflow extractor)
  'simple_hit', //    always 0 (no simple match cache)
  'emc_hit', //       PMD_STAT_EXACT_HIT
  'smc_hit', //       always 0 (no signature match cache)
  'masked_hit', //    PMD_STAT_MASKED_HIT: dpcls hits
  'masked_lookup', // PMD_STAT_MASKED_LOOKUP: subtables searched for those hits
  'miss', //          PMD_STAT_MISS: misses queued as upcalls
  'lost', //          PMD_STAT_LOST: misses whose upcall was dropped (queue full)
  'sent_pkts', //     PMD_STAT_SENT_PKTS
  'sent_batches', //  PMD_STAT_SENT_BATCHES
  'idle_ns', //       PMD_CYCLES_ITER_IDLE, in ns
  'busy_ns', //       PMD_CYCLES_ITER_BUSY, in ns
  'sleep_ns', //      PMD_CYCLES_SLEEP, in ns
  'sleep_iter', //    PMD_SLEEP_ITER: times the PMD went to sleep
  'malformed', //     frames under 14 bytes, dropped on receive (not an OVS counter)
  'tx_dropped', //    outputs dropped: no such port, no buffer for a copy, executor failure
  'action_upcall', // userspace actions queued as ACTION upcalls
  'action_lost', //   userspace actions whose upcall was dropped
  'iterations', //    loop iterations
  'rx_naps', //       PMD_RX_NAPS: naps between partial rx bursts (pmd-rx-usecs; their time is in sleep_ns)
  'tx_held', //       PMD_TX_HELD: partial output batches held through a nap (per port and nap)
  'idle_naps', //     PMD_IDLE_NAPS: naps of an idle PMD after traffic (pmd-idle-nap-usecs; time in sleep_ns)
] as const;
export type PmdCounterName = (typeof PMD_COUNTER_NAMES)[number];

export const PMD_STAT_RECV = 0;
export const PMD_STAT_RECIRC = 1;
export const PMD_STAT_PHWOL_HIT = 2;
export const PMD_STAT_MFEX_OPT_HIT = 3;
export const PMD_STAT_SIMPLE_HIT = 4;
export const PMD_STAT_EXACT_HIT = 5;
export const PMD_STAT_SMC_HIT = 6;
export const PMD_STAT_MASKED_HIT = 7;
export const PMD_STAT_MASKED_LOOKUP = 8;
export const PMD_STAT_MISS = 9;
export const PMD_STAT_LOST = 10;
export const PMD_STAT_SENT_PKTS = 11;
export const PMD_STAT_SENT_BATCHES = 12;
export const PMD_CYCLES_ITER_IDLE = 13;
export const PMD_CYCLES_ITER_BUSY = 14;
export const PMD_CYCLES_SLEEP = 15;
export const PMD_SLEEP_ITER = 16;
export const PMD_STAT_MALFORMED = 17;
export const PMD_STAT_TX_DROPPED = 18;
export const PMD_STAT_ACTION_UPCALL = 19;
export const PMD_STAT_ACTION_LOST = 20;
export const PMD_ITERATIONS = 21;
export const PMD_RX_NAPS = 22;
export const PMD_TX_HELD = 23;
export const PMD_IDLE_NAPS = 24;
export const PMD_N_STATS = PMD_COUNTER_NAMES.length;

/** One thread's counters as the control plane reports them. */
export interface PmdStatsSnapshot {
  /** PMD id (shown as core_id), or -1 for the main (control) thread. */
  readonly pmdId: number;
  /** NUMA node shown (tsvs does not pin threads: 0). */
  readonly numaId: number;
  /** Counter values by name (since start or the last clear). */
  readonly counters: Readonly<Record<PmdCounterName, number>>;
}

/** Zeroed counters. */
export function emptyPmdCounters(): Record<PmdCounterName, number> {
  const c = {} as Record<PmdCounterName, number>;
  for (const n of PMD_COUNTER_NAMES) c[n] = 0;
  return c;
}

const f2 = (x: number): string => x.toFixed(2);
const u64 = (x: number): string => String(Math.round(x));

/** OVS format_pmd_thread(). */
function formatThread(s: PmdStatsSnapshot): string {
  return s.pmdId < 0 ? 'main thread:\n' : `pmd thread numa_id ${s.numaId} core_id ${s.pmdId}:\n`;
}

/** The text of one thread in `dpif-netdev/pmd-stats-show` (OVS 3.1 pmd_info_show_stats). */
export function formatPmdStats(s: PmdStatsSnapshot): string {
  const c = s.counters;
  const totalCycles = c.idle_ns + c.busy_ns;
  const totalPackets = c.recv;
  const passes = totalPackets > 0 ? (totalPackets + c.recirc) / totalPackets : 0;
  const lookupsPerHit = c.masked_hit > 0 ? c.masked_lookup / c.masked_hit : 0;
  const perBatch = c.sent_batches > 0 ? c.sent_pkts / c.sent_batches : 0;
  let out = formatThread(s);
  out +=
    `  packets received: ${u64(totalPackets)}\n` +
    `  packet recirculations: ${u64(c.recirc)}\n` +
    `  avg. datapath passes per packet: ${f2(passes)}\n` +
    `  phwol hits: ${u64(c.phwol_hit)}\n` +
    `  mfex opt hits: ${u64(c.mfex_opt_hit)}\n` +
    `  simple match hits: ${u64(c.simple_hit)}\n` +
    `  emc hits: ${u64(c.emc_hit)}\n` +
    `  smc hits: ${u64(c.smc_hit)}\n` +
    `  megaflow hits: ${u64(c.masked_hit)}\n` +
    `  avg. subtable lookups per megaflow hit: ${f2(lookupsPerHit)}\n` +
    `  miss with success upcall: ${u64(c.miss)}\n` +
    `  miss with failed upcall: ${u64(c.lost)}\n` +
    `  avg. packets per output batch: ${f2(perBatch)}\n`;
  if (totalCycles === 0) return out;
  const idle = Math.round(c.idle_ns), busy = Math.round(c.busy_ns), total = idle + busy;
  out +=
    `  idle cycles: ${idle} (${f2((idle / total) * 100)}%)\n` +
    `  processing cycles: ${busy} (${f2((busy / total) * 100)}%)\n`;
  if (totalPackets === 0) return out;
  out +=
    `  avg cycles per packet: ${f2(total / totalPackets)} (${total}/${u64(totalPackets)})\n` +
    `  avg processing cycles per packet: ${f2(busy / totalPackets)} (${busy}/${u64(totalPackets)})\n`;
  return out;
}

/**
 * `dpif-netdev/pmd-stats-show`: the PMD threads by id, then the main thread (OVS sorts by core id
 * and the main thread's NON_PMD_CORE_ID is the largest).
 */
export function formatPmdStatsShow(snaps: readonly PmdStatsSnapshot[]): string {
  const sorted = [...snaps].sort((a, b) => (a.pmdId < 0 ? 1 : b.pmdId < 0 ? -1 : a.pmdId - b.pmdId));
  return sorted.map(formatPmdStats).join('');
}

/** One rxq line of `pmd-rxq-show`. */
export interface RxqShowEntry {
  readonly port: string;
  readonly queueId: number;
  readonly enabled: boolean;
  /** Processing ns of this rxq over the shown intervals. */
  readonly procNs: number;
}

/** One PMD of `pmd-rxq-show`. */
export interface PmdRxqShow {
  readonly pmdId: number;
  readonly numaId: number;
  readonly isolated: boolean;
  /** Total ns of the PMD over the shown intervals (OVS: last interval's cycles x intervals); 0 = not available yet. */
  readonly totalNs: number;
  /** Busy ns of the PMD over the shown intervals. */
  readonly busyNs: number;
  readonly rxqs: readonly RxqShowEntry[];
}

/**
 * `dpif-netdev/pmd-rxq-show` (OVS 3.1 pmd_info_show_rxq): rxqs sorted by port name then queue id,
 * usage as integer percent of the PMD's time over the last `secs` seconds (intervals of 5 s).
 */
export function formatPmdRxqShow(pmds: readonly PmdRxqShow[], secs: number): string {
  let out = `Displaying last ${secs} seconds pmd usage %\n`;
  for (const p of [...pmds].sort((a, b) => a.pmdId - b.pmdId)) {
    out += `pmd thread numa_id ${p.numaId} core_id ${p.pmdId}:\n  isolated : ${p.isolated ? 'true' : 'false'}\n`;
    const rxqs = [...p.rxqs].sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : a.queueId - b.queueId));
    let totalRxq = 0;
    for (const q of rxqs) {
      totalRxq += q.procNs;
      out += `  port: ${q.port.padEnd(16)}  queue-id: ${String(q.queueId).padStart(2)}`;
      out += ` ${q.enabled ? '(enabled) ' : '(disabled)'}`;
      out += '  pmd usage: ';
      out += p.totalNs > 0 ? `${String(Math.floor((q.procNs * 100) / p.totalNs)).padStart(2)} %` : 'NOT AVAIL';
      out += '\n';
    }
    if (rxqs.length > 0) {
      out += '  overhead: ';
      if (p.totalNs > 0) {
        const busy = Math.min(p.busyNs, p.totalNs);
        const overhead = totalRxq < busy ? busy - totalRxq : 0;
        out += `${String(Math.floor((overhead * 100) / p.totalNs)).padStart(2)} %`;
      } else out += 'NOT AVAIL';
      out += '\n';
    }
  }
  return out;
}
