/**
 * `tsvs watch` figures: rates between two `stats/sample` results of the daemon (raw cumulative
 * counters, @tsvs/control StatsSample). Pure functions, so they are tested without a terminal.
 *
 * Per PMD: packets/s received; EMC and megaflow hit % of the packets received in the interval;
 * upcalls/s (misses queued plus misses lost); busy % = processing time / wall time of the interval.
 * Per port: rx, tx and drops (rx + tx) per second. Per revalidator: its keys (ukeys in its share
 * of the table) and flows dumped per second; revalidation: rounds in the interval, and flows deleted
 * and modified per round (interval deltas / rounds), the last round's duration.
 * A thread or port that appears in the new sample only (restarted, added) has no rate yet (null).
 */
import type { StatsSample } from '@tsvs/control';

export interface PmdRates {
  pmdId: number;
  pps: number | null;
  emcPct: number | null;
  megaflowPct: number | null;
  upcallsPerS: number | null;
  busyPct: number | null;
}

export interface PortRates {
  name: string;
  odpPort: number;
  rxPps: number | null;
  txPps: number | null;
  dropsPerS: number | null;
}

export interface WatchView {
  timeMs: number;
  intervalMs: number;
  flows: { current: number; limit: number | null };
  pmds: PmdRates[];
  ports: PortRates[];
  revalidators: { id: number; keys: number; dumpedPerS: number | null }[];
  revalidation: { rounds: number; deletedPerRound: number | null; modifiedPerRound: number | null; lastRoundMs: number; dumpDurationMs: number } | null;
  restarts: Record<string, number>;
}

const rate = (d: number, s: number): number => (s > 0 ? d / s : 0);

export function computeView(prev: StatsSample | null, cur: StatsSample): WatchView {
  const dtMs = prev ? Math.max(1, cur.timeMs - prev.timeMs) : 0;
  const s = dtMs / 1000;
  const pmds: PmdRates[] = cur.pmds.map((p) => {
    const q = prev?.pmds.find((x) => x.pmdId === p.pmdId);
    // A restarted PMD starts its counters again: a decrease means "no rate this time".
    if (!q || p.recv < q.recv) return { pmdId: p.pmdId, pps: null, emcPct: null, megaflowPct: null, upcallsPerS: null, busyPct: null };
    const recv = p.recv - q.recv;
    return {
      pmdId: p.pmdId,
      pps: rate(recv, s),
      emcPct: recv > 0 ? (100 * (p.emcHit - q.emcHit)) / recv : null,
      megaflowPct: recv > 0 ? (100 * (p.maskedHit - q.maskedHit)) / recv : null,
      upcallsPerS: rate(p.miss - q.miss + (p.lost - q.lost), s),
      busyPct: Math.min(100, (100 * (p.busyNs - q.busyNs)) / (dtMs * 1e6)),
    };
  });
  const ports: PortRates[] = cur.ports.map((p) => {
    const q = prev?.ports.find((x) => x.name === p.name && x.odpPort === p.odpPort);
    if (!q) return { name: p.name, odpPort: p.odpPort, rxPps: null, txPps: null, dropsPerS: null };
    return {
      name: p.name,
      odpPort: p.odpPort,
      rxPps: rate(p.rxPackets - q.rxPackets, s),
      txPps: rate(p.txPackets - q.txPackets, s),
      dropsPerS: rate(p.rxDropped - q.rxDropped + (p.txDropped - q.txDropped), s),
    };
  });
  const revalidators = cur.revalidators.map((r) => {
    const q = prev?.revalidators.find((x) => x.id === r.id);
    return { id: r.id, keys: r.keys, dumpedPerS: q && r.dumped >= q.dumped ? rate(r.dumped - q.dumped, s) : null };
  });
  let revalidation: WatchView['revalidation'] = null;
  if (cur.revalidation) {
    const c = cur.revalidation;
    const p = prev?.revalidation;
    const rounds = p ? c.rounds - p.rounds : 0;
    revalidation = {
      rounds,
      deletedPerRound: p && rounds > 0 ? (c.deleted - p.deleted) / rounds : null,
      modifiedPerRound: p && rounds > 0 ? (c.modified - p.modified) / rounds : null,
      lastRoundMs: c.lastRoundMs,
      dumpDurationMs: c.dumpDurationMs,
    };
  }
  return { timeMs: cur.timeMs, intervalMs: dtMs, flows: cur.flows, pmds, ports, revalidators, revalidation, restarts: cur.restarts };
}

const num = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));

/** The plain (non-terminal) form: one line per refresh. */
export function plainLine(v: WatchView): string {
  const parts = [new Date(v.timeMs).toISOString(), `flows ${v.flows.current}/${v.flows.limit ?? '-'}`];
  for (const p of v.pmds) {
    parts.push(`pmd${p.pmdId} ${num(p.pps)}pps emc ${num(p.emcPct, 1)}% megaflow ${num(p.megaflowPct, 1)}% upcalls ${num(p.upcallsPerS)}/s busy ${num(p.busyPct, 1)}%`);
  }
  for (const p of v.ports) parts.push(`${p.name} rx ${num(p.rxPps)}/s tx ${num(p.txPps)}/s drops ${num(p.dropsPerS)}/s`);
  for (const r of v.revalidators) parts.push(`revalidator ${r.id} keys ${r.keys}`);
  if (v.revalidation) {
    const r = v.revalidation;
    parts.push(`rounds ${r.rounds} deleted/round ${num(r.deletedPerRound, 1)} modified/round ${num(r.modifiedPerRound, 1)} dump ${r.dumpDurationMs}ms`);
  }
  const restarts = Object.entries(v.restarts).filter(([, n]) => n > 0);
  if (restarts.length) parts.push(`restarts ${restarts.map(([k, n]) => `${k} ${n}`).join(' ')}`);
  return parts.join(' | ');
}
