/**
 * PMD statistics text and rxq assignment, checked against the expected outputs in Open vSwitch
 * 3.1's own test suite (tests/pmd.at: "PMD - stats", "PMD - multiqueue support",
 * "PMD - pmd-cpu-mask/distribution of rx queues"), with the same `sed` that test applies to
 * numa_id/core_id.
 */
import { expect } from 'chai';
import {
  assignRxqs, emptyPmdCounters, formatPmdRxqShow, formatPmdStats, formatPmdStatsShow, type PmdStatsSnapshot,
} from '@tsvs/dpif';

/** tests/pmd.at SED_NUMA_CORE_PATTERN. */
const clearNumaCore = (s: string): string => s.replace(/(numa_id )[0-9]*( core_id )[0-9]*:/g, '$1<cleared>$2<cleared>:');
/** `sed '/cycles/d' | grep pmd -A 12` as in pmd.at. */
const pmdBlock = (s: string): string => {
  const lines = s.split('\n').filter((l) => !l.includes('cycles'));
  const at = lines.findIndex((l) => l.includes('pmd'));
  return lines.slice(at, at + 13).join('\n') + '\n';
};

function snap(pmdId: number, c: Partial<ReturnType<typeof emptyPmdCounters>>): PmdStatsSnapshot {
  return { pmdId, numaId: 0, counters: { ...emptyPmdCounters(), ...c } };
}

describe('pmd-stats-show text (OVS 3.1 pmd_info_show_stats)', () => {
  it('matches tests/pmd.at "PMD - stats" before traffic', () => {
    const text = formatPmdStatsShow([snap(0, {}), snap(-1, {})]);
    expect(pmdBlock(clearNumaCore(text))).to.equal(`pmd thread numa_id <cleared> core_id <cleared>:
  packets received: 0
  packet recirculations: 0
  avg. datapath passes per packet: 0.00
  phwol hits: 0
  mfex opt hits: 0
  simple match hits: 0
  emc hits: 0
  smc hits: 0
  megaflow hits: 0
  avg. subtable lookups per megaflow hit: 0.00
  miss with success upcall: 0
  miss with failed upcall: 0
`);
  });

  it('matches tests/pmd.at "PMD - stats" after 20 packets (19 EMC hits, 1 upcall)', () => {
    const text = formatPmdStatsShow([snap(3, { recv: 20, emc_hit: 19, miss: 1, busy_ns: 5000, idle_ns: 5000 })]);
    expect(pmdBlock(clearNumaCore(text))).to.equal(`pmd thread numa_id <cleared> core_id <cleared>:
  packets received: 20
  packet recirculations: 0
  avg. datapath passes per packet: 1.00
  phwol hits: 0
  mfex opt hits: 0
  simple match hits: 0
  emc hits: 19
  smc hits: 0
  megaflow hits: 0
  avg. subtable lookups per megaflow hit: 0.00
  miss with success upcall: 1
  miss with failed upcall: 0
`);
  });

  it('prints the cycle lines only when there are cycles, and per-packet lines only with packets', () => {
    expect(formatPmdStats(snap(0, {}))).not.to.include('cycles');
    const idle = formatPmdStats(snap(0, { idle_ns: 1000 }));
    expect(idle).to.include('  idle cycles: 1000 (100.00%)\n  processing cycles: 0 (0.00%)\n');
    expect(idle).not.to.include('avg cycles per packet');
    const busy = formatPmdStats(snap(1, {
      recv: 4, masked_hit: 4, masked_lookup: 6, sent_pkts: 4, sent_batches: 3, idle_ns: 300, busy_ns: 700,
    }));
    expect(busy).to.equal(`pmd thread numa_id 0 core_id 1:
  packets received: 4
  packet recirculations: 0
  avg. datapath passes per packet: 1.00
  phwol hits: 0
  mfex opt hits: 0
  simple match hits: 0
  emc hits: 0
  smc hits: 0
  megaflow hits: 4
  avg. subtable lookups per megaflow hit: 1.50
  miss with success upcall: 0
  miss with failed upcall: 0
  avg. packets per output batch: 1.33
  idle cycles: 300 (30.00%)
  processing cycles: 700 (70.00%)
  avg cycles per packet: 250.00 (1000/4)
  avg processing cycles per packet: 175.00 (700/4)
`);
  });

  it('lists PMD threads by id, then the main thread', () => {
    const text = formatPmdStatsShow([snap(-1, {}), snap(2, {}), snap(0, {})]);
    const heads = text.split('\n').filter((l) => l.endsWith(':') && !l.startsWith(' '));
    expect(heads).to.deep.equal(['pmd thread numa_id 0 core_id 0:', 'pmd thread numa_id 0 core_id 2:', 'main thread:']);
  });
});

describe('pmd-rxq-show text (OVS 3.1 pmd_info_show_rxq)', () => {
  it('matches tests/pmd.at "PMD - multiqueue support" before any interval completed', () => {
    const rxqs = Array.from({ length: 8 }, (_, q) => ({ port: 'p0', queueId: 7 - q, enabled: true, procNs: 0 }));
    const text = formatPmdRxqShow([{ pmdId: 0, numaId: 0, isolated: false, totalNs: 0, busyNs: 0, rxqs }], 60);
    expect(clearNumaCore(text)).to.equal(`Displaying last 60 seconds pmd usage %
pmd thread numa_id <cleared> core_id <cleared>:
  isolated : false
${Array.from({ length: 8 }, (_, q) => `  port: p0                queue-id:  ${q} (enabled)   pmd usage: NOT AVAIL`).join('\n')}
  overhead: NOT AVAIL
`);
  });

  it('prints integer usage percentages and the overhead', () => {
    const text = formatPmdRxqShow([{
      pmdId: 1, numaId: 0, isolated: false, totalNs: 1000, busyNs: 600,
      rxqs: [{ port: 'p2', queueId: 0, enabled: true, procNs: 99 }, { port: 'p1', queueId: 1, enabled: true, procNs: 450 }],
    }], 10);
    expect(text).to.equal(`Displaying last 10 seconds pmd usage %
pmd thread numa_id 0 core_id 1:
  isolated : false
  port: p1                queue-id:  1 (enabled)   pmd usage: 45 %
  port: p2                queue-id:  0 (enabled)   pmd usage:  9 %
  overhead:  5 %
`);
  });
});

describe('rxq assignment (pmd-rxq-assign)', () => {
  const eight = Array.from({ length: 8 }, (_, q) => ({ portNo: 1, rxq: q, procNs: 0 }));
  const group = (pmds: number[]): number[][] => {
    const m = new Map<number, number[]>();
    pmds.forEach((p, q) => m.set(p, [...(m.get(p) ?? []), q]));
    return [...m.values()].sort((a, b) => a[0]! - b[0]!);
  };

  it('roundrobin over 2 PMDs gives 0 2 4 6 / 1 3 5 7 (tests/pmd.at)', () => {
    expect(group(assignRxqs(eight, [0, 1], 'roundrobin'))).to.deep.equal([[0, 2, 4, 6], [1, 3, 5, 7]]);
  });

  it('cycles over 2 PMDs gives 0 3 4 7 / 1 2 5 6 (tests/pmd.at)', () => {
    expect(group(assignRxqs(eight, [0, 1], 'cycles'))).to.deep.equal([[0, 3, 4, 7], [1, 2, 5, 6]]);
  });

  it('group over 2 PMDs gives 0 2 4 6 / 1 3 5 7 (tests/pmd.at)', () => {
    expect(group(assignRxqs(eight, [0, 1], 'group'))).to.deep.equal([[0, 2, 4, 6], [1, 3, 5, 7]]);
  });

  it('cycles and group spread measured load: the two busiest rxqs land on different PMDs', () => {
    const loads = [5, 100, 7, 90, 1, 3].map((procNs, q) => ({ portNo: 2, rxq: q, procNs }));
    for (const algo of ['cycles', 'group'] as const) {
      const a = assignRxqs(loads, [4, 7], algo);
      expect(a[1]).not.to.equal(a[3]);
    }
    const g = assignRxqs(loads, [4, 7], 'group');
    const sum = (p: number): number => loads.reduce((s, l, i) => s + (g[i] === p ? l.procNs : 0), 0);
    expect(Math.abs(sum(4) - sum(7))).to.be.lessThan(15);
  });

  it('every rxq gets exactly one PMD among those given; none throws', () => {
    const rxqs = Array.from({ length: 13 }, (_, i) => ({ portNo: i % 3, rxq: i, procNs: (i * 37) % 11 }));
    for (const algo of ['roundrobin', 'cycles', 'group'] as const) {
      const a = assignRxqs(rxqs, [5, 2, 9], algo);
      expect(a).to.have.length(13);
      for (const p of a) expect([2, 5, 9]).to.include(p);
    }
    expect(() => assignRxqs(rxqs, [], 'roundrobin')).to.throw(RangeError);
  });
});
