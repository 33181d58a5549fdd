/**
 * `pnpm bench vs-ovs [--json] [--hosts 2|3] [--seconds S] [--rounds R] [--only ovs|tsvs] [--pmd-threads N] [--tsvs-flows normal|dpctl] [--tsvs-fanout cpu|hash] [--prefix P]`:
 * tsvs side by side with Open vSwitch 3.1's userspace datapath, on the same hosts, veth pairs and
 * offload settings, one switch after the other in one invocation (OVS first).
 *
 * Topology (vs-ovs/topo.ts): `--hosts` (default 2) hosts from tools/netns, each in its own network
 * namespace on a veth pair; the outer ends are moved into one switch namespace where each switch
 * runs in turn (vs-ovs/switches.ts: OVS via tools/ovs-peer/ovs-peer.sh, datapath_type=netdev,
 * NORMAL; tsvs via its CLI, `system` ports, NORMAL). Offloads off on both ends
 * (`ethtool -K IF tx off rx off tso off gso off gro off`). Traffic runs host 0 -> host 1.
 *
 * `--rounds R` (default 1) measures each switch R times, OVS first and then alternating (ABBA...);
 * every figure is the median over the rounds (these shared 2-vCPU machines are noisy).
 * `--tsvs-flows dpctl` is a diagnostic of the fast path alone: tsvs gets static datapath flows
 * between the two ports instead of NORMAL (see vs-ovs/switches.ts); the default is NORMAL.
 * `--tsvs-fanout` (default cpu): tsvs's ports get n_rxq = CPUs (2..32) with fanout=cpu, so that a
 * PMD sleeps on the CPU its lone packets come from (packages/dpif src/pmd/sender-cpu.ts); `hash`
 * gives them the defaults (one rxq). OVS's netdev-linux ports have one rxq and no such option.
 *
 * Per switch, after both hosts reach each other (warm-up pings): a cold ping (200 at 5 ms; extra
 * figures rtt_cold_avg_ms / rtt_cold_p99_ms), a warm-up the same for both switches (a flood ping
 * of 5000 requests: tsvs's JavaScript loop reaches V8's optimizing compiler only after it has run
 * for a while; vs-ovs/workloads.ts), then the measured workloads: ping (200 at 5 ms), iperf3 TCP
 * (S s, default 5), iperf3 UDP 64-byte payloads at unlimited rate (S s), new TCP connections
 * (at most 20000 or 3 s) — see vs-ovs/workloads.ts. CPU: the switch process's CPU time (all
 * threads, /proc/PID/stat) over the wall time of those workloads, in % of one core (2 cores: <= 200).
 *
 * Result: for each of tcp_gbps, udp64_kpps (delivered), rtt_avg_ms, rtt_p99_ms, tcp_conn_per_s,
 * cpu_percent an object { tsvs, ovs } (null where that switch could not run the workload), plus
 * `ratios` (tsvs/ovs per figure; for rtt and cpu lower is better), `round_ratios` (per figure,
 * tsvs/ovs of each round: round r of one switch against round r of the other, the spread behind
 * the medians; the table's last column counts the rounds tsvs was at or ahead), extra figures in the same
 * { tsvs, ovs } shape (cpu_loop_ms: the machine's speed before the switch started, a loop that
 * involves neither switch, vs-ovs/cpu-loop.ts; rtt_cold_avg_ms, rtt_cold_p99_ms, tcp_retransmits, udp64_offered_kpps,
 * udp64_forwarded_kpps: frames the switch sent to the receiver's veth, udp64_rcvbuf_drops_kpps:
 * datagrams the receiver's full socket dropped; ping_received, tcp_conn_errors),
 * `switches` (versions), `offloads`, `errors` (per switch, one line, when a half failed). A table
 * goes to stderr. Needs root; installs openvswitch-switch with apt-get when missing. All traffic
 * stays inside the benchmark's namespaces; everything it made is removed at the end, also on
 * failure or Ctrl-C (vs-ovs/proc.ts cleanup registry).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './vs-ovs/cpu.js';
import { cpuLoopMs } from './vs-ovs/cpu-loop.js';
import { BenchError, cleanup, sh } from './vs-ovs/proc.js';
import { OvsSwitch, TsvsSwitch, type Switch } from './vs-ovs/switches.js';
import { offloadStates, topologyUp, type BenchTopology } from './vs-ovs/topo.js';
import { conns, ping, round, tcp, udp64, waitReachable, warmUp, withIperfServer } from './vs-ovs/workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const MAIN = ['tcp_gbps', 'udp64_kpps', 'rtt_avg_ms', 'rtt_p99_ms', 'tcp_conn_per_s', 'cpu_percent'] as const;
/** Figures where lower is better. */
const LOWER: ReadonlySet<string> = new Set(['rtt_avg_ms', 'rtt_p99_ms', 'cpu_percent']);
const EXTRA = ['cpu_loop_ms', 'rtt_cold_avg_ms', 'rtt_cold_p99_ms', 'tcp_retransmits', 'udp64_offered_kpps', 'udp64_forwarded_kpps', 'udp64_rcvbuf_drops_kpps', 'ping_received', 'tcp_conn_errors'] as const;
type Key = (typeof MAIN)[number] | (typeof EXTRA)[number];
type Figures = Partial<Record<Key, number>>;

interface Opts { hosts: number; seconds: number; rounds: number; only: string | null; pmdThreads: number | null; prefix: string; tsvsFlows: 'normal' | 'dpctl'; tsvsFanout: 'cpu' | 'hash' }

function parseArgs(args: string[]): Opts {
  const o: Opts = { hosts: 2, seconds: 5, rounds: 1, only: null, pmdThreads: null, prefix: `vo${process.pid % 100000}`, tsvsFlows: 'normal', tsvsFanout: 'cpu' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    const int = (lo: number, hi: number): number => {
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new BenchError(`bad value '${v ?? ''}' for ${a} (want ${lo}..${hi})`);
      i++;
      return Number(v);
    };
    if (a === '--hosts') o.hosts = int(2, 3);
    else if (a === '--seconds') o.seconds = int(1, 60);
    else if (a === '--rounds') o.rounds = int(1, 9);
    else if (a === '--pmd-threads') o.pmdThreads = int(1, 8);
    else if (a === '--only') {
      if (v !== 'ovs' && v !== 'tsvs') throw new BenchError(`bad value '${v ?? ''}' for --only (want ovs or tsvs)`);
      o.only = v;
      i++;
    } else if (a === '--tsvs-flows') {
      if (v !== 'normal' && v !== 'dpctl') throw new BenchError(`bad value '${v ?? ''}' for --tsvs-flows (want normal or dpctl)`);
      o.tsvsFlows = v;
      i++;
    } else if (a === '--tsvs-fanout') {
      if (v !== 'cpu' && v !== 'hash') throw new BenchError(`bad value '${v ?? ''}' for --tsvs-fanout (want cpu or hash)`);
      o.tsvsFanout = v;
      i++;
    } else if (a === '--prefix') {
      if (v === undefined || !/^[a-z][a-z0-9]{0,7}$/.test(v)) throw new BenchError(`bad value '${v ?? ''}' for --prefix (a lower-case letter then up to 7 letters or digits)`);
      o.prefix = v;
      i++;
    } else throw new BenchError(`unknown argument '${a}'`);
  }
  return o;
}

const log = (s: string): void => { process.stderr.write(`vs-ovs: ${s}\n`); };

async function measure(sw: Switch, topo: BenchTopology, o: Opts, switches: Record<string, string>): Promise<Figures> {
  const [a, b] = [topo.hosts[0]!, topo.hosts[1]!];
  const f: Figures = { cpu_loop_ms: cpuLoopMs() };
  log(`${sw.name}: starting (CPU loop ${f.cpu_loop_ms} ms)`);
  await sw.start(topo);
  try {
    switches[sw.name] = sw.describe();
    log(`${sw.name}: ${switches[sw.name]}`);
    if (!(await waitReachable(a, b, 15_000))) throw new BenchError(`${sw.name}: ${b.ip4} not reachable from ${a.ns} within 15 s`);
    // Warm-up: neighbour entries and flows in place both ways (and with a third host, its MAC learned).
    for (const h of topo.hosts.slice(1)) await waitReachable(a, h, 5_000);
    await ping(a, b, 20, 0.01);
    const cold = await ping(a, b);
    f.rtt_cold_avg_ms = cold.avg_ms;
    f.rtt_cold_p99_ms = cold.p99_ms;
    log(`${sw.name}: cold ping ${cold.received}/${cold.sent} avg ${cold.avg_ms} ms p99 ${cold.p99_ms} ms`);
    await warmUp(a, b);
    const pid = sw.pid();
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const p = await ping(a, b);
    f.rtt_avg_ms = p.avg_ms;
    f.rtt_p99_ms = p.p99_ms;
    f.ping_received = p.received;
    log(`${sw.name}: ping ${p.received}/${p.sent} avg ${p.avg_ms} ms p99 ${p.p99_ms} ms`);
    await withIperfServer(b, async () => {
      const t = await tcp(a, b, o.seconds);
      f.tcp_gbps = t.gbps;
      f.tcp_retransmits = t.retransmits;
      log(`${sw.name}: tcp ${t.gbps} Gbit/s, ${t.retransmits} retransmits`);
      const u = await udp64(a, b, o.seconds, topo.switchNs);
      f.udp64_kpps = u.delivered_kpps;
      f.udp64_offered_kpps = u.offered_kpps;
      f.udp64_forwarded_kpps = u.forwarded_kpps;
      f.udp64_rcvbuf_drops_kpps = u.rcvbuf_drops_kpps;
      log(`${sw.name}: udp64 ${u.offered_kpps} kpps offered, ${u.forwarded_kpps} forwarded, ${u.delivered_kpps} delivered, ${u.rcvbuf_drops_kpps} dropped by the receiver's full socket`);
    });
    const c = await conns(a, b);
    f.tcp_conn_per_s = c.per_s;
    f.tcp_conn_errors = c.errors;
    log(`${sw.name}: ${c.connections} TCP connections in ${c.seconds} s (${c.per_s}/s), ${c.errors} failed`);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    f.cpu_percent = round(((cpuSeconds(pid) - cpu0) / wall) * 100, 1);
    log(`${sw.name}: cpu ${f.cpu_percent} % over ${wall.toFixed(1)} s`);
    return f;
  } finally {
    sw.stop();
  }
}

/** Median of the defined values (mean of the middle two for an even count); null if none. */
function median(xs: (number | undefined)[]): number | null {
  const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : round((v[m - 1]! + v[m]!) / 2, 4);
}

/**
 * tsvs/OVS per round: round r of tsvs against round r of OVS, which ran next to it in the ABBA
 * order. Shows the spread behind the medians; null where either figure is missing or OVS's is 0.
 */
function roundRatios(runs: { tsvs: Figures[]; ovs: Figures[] }): Record<string, (number | null)[]> {
  const n = Math.min(runs.tsvs.length, runs.ovs.length);
  const out: Record<string, (number | null)[]> = {};
  for (const k of MAIN) {
    const rs: (number | null)[] = [];
    for (let r = 0; r < n; r++) {
      const t = runs.tsvs[r]![k], v = runs.ovs[r]![k];
      rs.push(t !== undefined && v !== undefined && v !== 0 ? round(t / v, 3) : null);
    }
    out[k] = rs;
  }
  return out;
}

/** "a/n": rounds in which tsvs was at or ahead of OVS (ratio >= 1, or <= 1 where lower is better). */
function atOrAhead(k: string, rs: (number | null)[] | undefined): string {
  const v = (rs ?? []).filter((x): x is number => x !== null);
  if (v.length === 0) return '';
  return `${v.filter((x) => (LOWER.has(k) ? x <= 1 : x >= 1)).length}/${v.length}`;
}

function table(res: Record<string, { tsvs: number | null; ovs: number | null }>, ratios: Record<string, number | null>, perRound: Record<string, (number | null)[]>): string {
  const rows = [['figure', 'tsvs', 'ovs', 'tsvs/ovs', 'rounds at/ahead']];
  for (const k of [...MAIN, ...EXTRA]) {
    const r = res[k]!;
    const ratio = ratios[k];
    rows.push([k, String(r.tsvs ?? '-'), String(r.ovs ?? '-'), ratio === undefined ? '' : String(ratio ?? '-'), atOrAhead(k, perRound[k])]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o = parseArgs(args);
  if (process.getuid?.() !== 0) throw new BenchError('needs root (network namespaces, veth pairs, raw sockets)');
  for (const tool of ['ip', 'ethtool', 'iperf3', 'ping']) {
    if (sh(['sh', '-c', `command -v ${tool}`], { allowFail: true }).status !== 0) throw new BenchError(`'${tool}' is missing (bash tools/setup.sh installs iproute2, ethtool, iperf3; ping: apt-get install iputils-ping)`);
  }
  const runs: { tsvs: Figures[]; ovs: Figures[] } = { tsvs: [], ovs: [] };
  const switches: Record<string, string> = {};
  const errors: Record<string, string> = {};
  let offloads = '';
  try {
    const topo = topologyUp(root, o.prefix, o.hosts, '10.77.0');
    offloads = offloadStates(topo);
    log(`${o.hosts} hosts (${topo.hosts.map((h) => `${h.ns} ${h.ip4}`).join(', ')}), switch namespace ${topo.switchNs}; ${offloads}`);
    const pair: Switch[] = [new OvsSwitch(root), new TsvsSwitch(root, { flows: o.tsvsFlows, fanout: o.tsvsFanout, ...(o.pmdThreads ? { pmdThreads: o.pmdThreads } : {}) })];
    for (let r = 0; r < o.rounds; r++) {
      // OVS first, then alternating (ABBA...), so that a drift in the machine's load favours neither.
      const order = r % 2 === 0 ? pair : [...pair].reverse();
      for (const sw of order) {
        if ((o.only && o.only !== sw.name) || errors[sw.name]) continue;
        if (o.rounds > 1) log(`round ${r + 1}/${o.rounds}`);
        try {
          runs[sw.name].push(await measure(sw, topo, o, switches));
        } catch (e) {
          if (!(e instanceof BenchError)) throw e;
          errors[sw.name] = e.message;
          log(`${sw.name}: FAILED: ${e.message}`);
        }
      }
    }
  } finally {
    cleanup();
  }
  const out: Record<string, unknown> = {};
  const ratios: Record<string, number | null> = {};
  for (const k of [...MAIN, ...EXTRA]) {
    const t = median(runs.tsvs.map((f) => f[k]));
    const v = median(runs.ovs.map((f) => f[k]));
    out[k] = { tsvs: t, ovs: v };
    if ((MAIN as readonly string[]).includes(k)) ratios[k] = t !== null && v !== null && v !== 0 ? round(t / v, 3) : null;
  }
  const perRound = roundRatios(runs);
  process.stderr.write(table(out as Record<string, { tsvs: number | null; ovs: number | null }>, ratios, perRound) + '\n');
  process.stderr.write('(higher is better for tcp_gbps, udp64_kpps, tcp_conn_per_s; lower for rtt_*, cpu_percent)\n');
  out.ratios = ratios;
  out.round_ratios = perRound;
  out.switches = switches;
  out.hosts = o.hosts;
  out.seconds = o.seconds;
  out.rounds = o.rounds;
  out.offloads = offloads;
  if (Object.keys(errors).length > 0) out.errors = errors;
  return out;
}
