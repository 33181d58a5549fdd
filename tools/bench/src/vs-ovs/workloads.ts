/**
 * The workloads of the vs-ovs benchmark, run between two hosts (client in `a`'s namespace, server
 * in `b`'s), each bounded in time:
 *
 * - ping: `ping -c 200 -i 0.005` (root may go below 0.2 s); RTT avg and p99 (nearest rank) in ms
 *   over the replies, from ping's own per-reply `time=` figures.
 * - warmUp: `ping -f -c 5000` (flood ping: the next request as soon as the reply came), the same
 *   for both switches before the measured workloads: tsvs's PMD loop is JavaScript, compiled by
 *   V8's optimizing tier only after it has run for a while, and this is what warms it.
 * - tcp: `iperf3 -t 5` one TCP stream; Gbit/s received (end.sum_received.bits_per_second) and the
 *   sender's retransmits.
 * - udp64: `iperf3 -u -l 64 -b 0 -t 5` (64-byte UDP payloads, unlimited rate): kpps offered
 *   (end.sum_sent.packets / s) and delivered (end.sum_received.bytes / 64 / s, what reached the
 *   server's socket).
 * - conns: new TCP connections per second, the `conn.js` client against its server (see conn.ts):
 *   8 connections in flight, at most 20000 connections or 3 s.
 * Each returns figures or throws BenchError naming the command.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { BenchError, exec, inNs, onCleanup, sleep } from './proc.js';
import type { BenchHost } from './topo.js';

const here = dirname(fileURLToPath(import.meta.url));
const IPERF_PORT = 5201;
const CONN_PORT = 5301;

export interface PingResult { sent: number; received: number; avg_ms: number; p99_ms: number }

/** Pings until one reply arrives (ARP/ND and flow setup), at most `ms`. True when one did. */
export async function waitReachable(a: BenchHost, b: BenchHost, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await exec(inNs(a.ns, ['ping', '-c', '1', '-W', '1', b.ip4]), { allowFail: true, timeout: 5_000 });
    if (r.status === 0) return true;
    await sleep(200);
  }
  return false;
}

/** Flood ping of `count` requests from `a` to `b` (warm-up; its figures are not used). */
export async function warmUp(a: BenchHost, b: BenchHost, count = 5000): Promise<void> {
  const r = await exec(inNs(a.ns, ['ping', '-n', '-q', '-f', '-c', String(count), '-W', '1', b.ip4]), { allowFail: true, timeout: 60_000 });
  if (r.status !== 0 && r.status !== 1) throw new BenchError(`ping -f ${b.ip4} from ${a.ns}: exit ${r.status} (${r.stderr.trim().split('\n')[0] ?? ''})`);
}

export async function ping(a: BenchHost, b: BenchHost, count = 200, intervalS = 0.005): Promise<PingResult> {
  const r = await exec(inNs(a.ns, ['ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '1', b.ip4]), { allowFail: true, timeout: 60_000 });
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
  if (times.length === 0) throw new BenchError(`ping ${b.ip4} from ${a.ns}: no replies (${r.stdout.trim().split('\n').slice(-2).join(' ')})`);
  const avg = times.reduce((s, t) => s + t, 0) / times.length;
  const p99 = times[Math.ceil(0.99 * times.length) - 1]!;
  return { sent: count, received: times.length, avg_ms: round(avg, 4), p99_ms: round(p99, 4) };
}

/** Runs an iperf3 server in `b` for the duration of `fn`. */
export async function withIperfServer<T>(b: BenchHost, fn: () => Promise<T>): Promise<T> {
  const p = spawn('ip', ['netns', 'exec', b.ns, 'iperf3', '-s', '-p', String(IPERF_PORT)], { stdio: 'ignore' });
  const stop = onCleanup(`iperf3 server in ${b.ns}`, () => killChild(p));
  try {
    await sleep(300);
    return await fn();
  } finally {
    stop();
  }
}

interface IperfSum { seconds: number; bytes: number; bits_per_second: number; packets?: number; retransmits?: number }
interface IperfJson { end?: { sum_sent?: IperfSum; sum_received?: IperfSum }; error?: string }

async function iperf(a: BenchHost, b: BenchHost, extra: string[], seconds: number): Promise<IperfJson> {
  const argv = inNs(a.ns, ['iperf3', '-c', b.ip4, '-p', String(IPERF_PORT), '-t', String(seconds), '-J', ...extra]);
  const r = await exec(argv, { allowFail: true, timeout: (seconds + 20) * 1000 });
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new BenchError(`${argv.join(' ')}: no JSON output (${(r.stderr || r.stdout).trim().split('\n')[0]})`);
  }
  if (j.error) throw new BenchError(`${argv.join(' ')}: ${j.error}`);
  if (!j.end?.sum_received || !j.end.sum_sent) throw new BenchError(`${argv.join(' ')}: no end summary`);
  return j;
}

export async function tcp(a: BenchHost, b: BenchHost, seconds = 5): Promise<{ gbps: number; retransmits: number }> {
  const j = await iperf(a, b, [], seconds);
  return { gbps: round(j.end!.sum_received!.bits_per_second / 1e9, 4), retransmits: j.end!.sum_sent!.retransmits ?? 0 };
}

export interface Udp64Result {
  offered_kpps: number;
  delivered_kpps: number;
  /** Frames the switch sent towards `b` (tx_packets of b's outer veth end in the switch namespace), per s. */
  forwarded_kpps: number;
  /** Datagrams b's kernel dropped because its socket was full (Udp RcvbufErrors of b's namespace), per s. */
  rcvbuf_drops_kpps: number;
}

/**
 * iperf3 UDP with 64-byte payloads at unlimited rate from `a` to `b`. Besides what iperf3 reports,
 * reads two kernel counters that tell where the difference between offered and delivered goes:
 * what the switch forwarded (the same counter for any switch: the veth's own) and what the
 * receiving socket dropped for want of a reader (the receiver is bound by CPU).
 */
export async function udp64(a: BenchHost, b: BenchHost, seconds = 5, switchNs?: string): Promise<Udp64Result> {
  const counters = async (): Promise<[number, number]> => {
    if (!switchNs) return [0, 0];
    const tx = await exec(inNs(switchNs, ['cat', `/sys/class/net/${b.outer}/statistics/tx_packets`]));
    const snmp = (await exec(inNs(b.ns, ['cat', '/proc/net/snmp']))).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const col = snmp[0]!.split(/\s+/).indexOf('RcvbufErrors');
    return [Number(tx.stdout.trim()), Number(snmp[1]!.split(/\s+/)[col])];
  };
  const c0 = await counters();
  const t0 = process.hrtime.bigint();
  const j = await iperf(a, b, ['-u', '-l', '64', '-b', '0'], seconds);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = await counters();
  const sent = j.end!.sum_sent!;
  const recv = j.end!.sum_received!;
  return {
    offered_kpps: round((sent.packets ?? sent.bytes / 64) / sent.seconds / 1000, 2),
    delivered_kpps: round(recv.bytes / 64 / recv.seconds / 1000, 2),
    forwarded_kpps: round((c1[0] - c0[0]) / wall / 1000, 2),
    rcvbuf_drops_kpps: round((c1[1] - c0[1]) / wall / 1000, 2),
  };
}

export interface ConnResult { connections: number; errors: number; seconds: number; per_s: number }

/** New TCP connections per second from `a` to `b` (conn.js client and server). */
export async function conns(a: BenchHost, b: BenchHost, maxCount = 20000, maxMs = 3000, parallel = 8): Promise<ConnResult> {
  const script = join(here, 'conn.js');
  const server = spawn('ip', ['netns', 'exec', b.ns, process.execPath, script, 'server', String(CONN_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = onCleanup(`conn server in ${b.ns}`, () => killChild(server));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new BenchError('conn server: not ready after 10 s')), 10_000);
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) { clearTimeout(t); resolve(); }
      });
      server.once('exit', (c) => { clearTimeout(t); reject(new BenchError(`conn server exited ${c}`)); });
    });
    const argv = inNs(a.ns, [process.execPath, script, 'client', b.ip4, String(CONN_PORT), String(maxCount), String(maxMs), String(parallel)]);
    const r = await exec(argv, { timeout: maxMs + 30_000 });
    const res = JSON.parse(r.stdout) as Omit<ConnResult, 'per_s'>;
    return { ...res, per_s: round(res.connections / res.seconds, 1) };
  } finally {
    stop();
  }
}

function killChild(p: ChildProcess): void {
  if (p.exitCode === null && p.signalCode === null) {
    // `ip netns exec` execs the command, so the pid is the tool's own.
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
