/**
 * System-test helpers: a real tsvs daemon driven through its CLI, real hosts in network namespaces
 * (tools/netns) on veth pairs whose outer ends are the daemon's `system` ports, and real traffic
 * (ping, TCP/UDP endpoints in traffic.mjs).
 *
 * Names are prefixed with `sy<pid><letter>` so runs coexist; every daemon and topology made here is
 * registered for cleanup (`cleanupAll`, called from each suite's `after` hook and on process exit),
 * and the topology tool removes its hosts on exit and signals too, with `sweep` as the last resort.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callDaemon } from '@tsvs/control';
import { execIn, inHost, sweep, up, type Host, type Topology } from '../../tools/netns/topology.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'apps/cli/bin/run.js');
export const TRAFFIC = fileURLToPath(new URL('./traffic.mjs', import.meta.url));
export const VLAN_RAW = fileURLToPath(new URL('./vlan-raw.mjs', import.meta.url));
export const isRoot = process.getuid?.() === 0;
export const PREFIX = `sy${process.pid}`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Skips the suite, with the reason printed, unless root; throws unless ip, ethtool, ping and `tools` are installed. Call in `before`. */
export function requireRoot(ctx: Mocha.Context, tools: string[] = []): void {
  if (!isRoot) {
    console.log('    skipped: system tests need root (network namespaces, veth pairs, AF_PACKET sockets)');
    ctx.skip();
  }
  const missing = ['ip', 'ethtool', 'ping', ...tools].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length > 0) throw new Error(`system tests need: ${missing.join(', ')} (bash tools/setup.sh installs iproute2, ethtool, iputils-ping, iperf3)`);
}

// ---- cleanup registry ----

const cleanups: (() => void)[] = [];
process.on('exit', () => cleanupAll());

/** Runs every registered cleanup (newest first). Synchronous, idempotent, never throws. */
export function cleanupAll(): void {
  while (cleanups.length > 0) {
    try {
      cleanups.pop()!();
    } catch {
      // best effort
    }
  }
}

// ---- topology ----

/** N hosts with prefix PREFIX+letter; removed by cleanupAll (and by the tool on exit/signals). */
export function hosts(letter: string, n: number, subnet: string): Topology {
  const prefix = PREFIX + letter;
  sweep(prefix);
  const t = up({ hosts: n, prefix, subnet });
  cleanups.push(() => {
    t.down();
    sweep(prefix);
  });
  return t;
}

/** Runs a command in a host; returns stdout. Throws with the command's stderr on failure. */
export function inH(h: Pick<Host, 'ns'>, cmd: string[]): string {
  return execIn(h, cmd).stdout;
}

// ---- the daemon ----

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A tsvs daemon with a private socket, config, pidfile and log, started with `tsvs start --detach`. */
export class Daemon {
  readonly kind: 'tsvs' | 'ovs' = 'tsvs';
  readonly dir: string;
  readonly socket: string;
  readonly config: string;
  readonly pidfile: string;
  readonly log: string;

  /** `bridge`: its name (also the local port's host interface as root): unique per daemon, <= 15 bytes. */
  constructor(readonly bridge: string) {
    // Short path: unix socket paths are limited to 107 bytes.
    this.dir = mkdtempSync('/tmp/tsvs-sys-');
    this.socket = join(this.dir, 'tsvs.sock');
    this.config = join(this.dir, 'config.json');
    this.pidfile = join(this.dir, 'tsvs.pid');
    this.log = join(this.dir, 'tsvs.log');
    cleanups.push(() => this.kill());
  }

  /** `tsvs ARGS --socket S` (synchronous: the CLI is quick and the tests are sequential). */
  cli(args: string[], timeoutMs = 30_000): CliResult {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      env: { ...process.env, TSVS_SOCKET: this.socket },
      timeout: timeoutMs,
    });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Like cli() but throws (with the command and its stderr) unless it exits 0; returns stdout. */
  ok(args: string[], timeoutMs?: number): string {
    const r = this.cli(args, timeoutMs);
    if (r.code !== 0) throw new Error(`tsvs ${args.join(' ')}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  start(extra: string[] = []): void {
    this.ok(['start', '--detach', '--config', this.config, '--pidfile', this.pidfile, '--log-file', this.log, '--bridge', this.bridge, ...extra], 60_000);
  }

  pid(): number {
    return Number(readFileSync(this.pidfile, 'utf8').trim());
  }

  /** `tsvs pmd stats --json`: the counters of PMD `pmdId` (packets, iterations, naps; pmd-stats.ts). Throws if there is no such PMD. */
  pmdCounters<C = Record<string, number>>(pmdId = 0): C {
    const all = JSON.parse(this.ok(['pmd', 'stats', '--json'])) as Array<{ pmdId: number; counters: C }>;
    const p = all.find((x) => x.pmdId === pmdId);
    if (!p) throw new Error(`no PMD ${pmdId} in pmd stats`);
    return p.counters;
  }

  /** Adds the hosts' outer veth ends as system ports (extra args per port, e.g. ['--tag', '10']). */
  addPorts(hs: readonly Host[], extra: (h: Host) => string[] = () => []): void {
    for (const h of hs) this.ok(['add-port', h.outer, '--type', 'system', ...extra(h)]);
  }

  /** A control-protocol call (for what the CLI does not offer, e.g. thread/crash). */
  rpc(method: string, params: Record<string, unknown>): Promise<unknown> {
    return (callDaemon as (s: string, m: string, p: unknown) => Promise<unknown>)(this.socket, method, params);
  }

  logTail(n = 20): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8').trim().split('\n').slice(-n).join('\n') : '';
  }

  /** Stops the daemon (gracefully, then SIGKILL) and removes its directory. Idempotent. */
  kill(): void {
    if (!existsSync(this.dir)) return;
    let pid = 0;
    try {
      pid = this.pid();
    } catch {
      // never started
    }
    if (pid > 0 && alive(pid)) {
      this.cli(['stop'], 15_000);
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    // The local port's interface, if the daemon left it (SIGKILL): the name is this run's own.
    spawnSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Open vSwitch 3.1's userspace datapath (tools/ovs-peer/ovs-peer.sh) behind the same `ok(args)`
 * interface, to check the tests themselves against the yardstick: `TSVS_SYSTEM_PEER=ovs pnpm exec
 * mocha 'test/system/*.test.ts'`. ovs-vswitchd runs in its own namespace (`<bridge>ns`); add-port
 * moves the outer veth end there. Translated: add-port [--tag N | --trunks A,B], del-port,
 * add-flow, del-flows, dump-flows, dpctl dump-flows, set config max-idle=N, show. Tests of tsvs-only
 * features (threads, thread/crash, restart from its config) skip themselves on this peer.
 */
export class OvsPeer {
  readonly kind: 'tsvs' | 'ovs' = 'ovs';
  readonly dir: string;
  readonly ns: string;
  private readonly script = join(ROOT, 'tools/ovs-peer/ovs-peer.sh');

  constructor(readonly bridge: string) {
    this.dir = join(mkdtempSync('/tmp/tsvs-sys-ovs-'), 'ovs');
    this.ns = `${bridge}ns`;
    cleanups.push(() => this.kill());
  }

  private peer(args: string[]): CliResult {
    const r = spawnSync('bash', [this.script, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  cli(args: string[]): CliResult {
    const [a, b] = args;
    const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
    if (a === 'add-port') {
      if (spawnSync('ip', ['link', 'show', b!], { stdio: 'ignore' }).status === 0) {
        spawnSync('ip', ['link', 'set', b!, 'netns', this.ns]);
        spawnSync('ip', ['netns', 'exec', this.ns, 'sysctl', '-qw', `net.ipv6.conf.${b}.disable_ipv6=1`]);
        spawnSync('ip', ['netns', 'exec', this.ns, 'ethtool', '-K', b!, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
        spawnSync('ip', ['-n', this.ns, 'link', 'set', b!, 'up']);
      }
      const extra = flag('--tag') ? [`tag=${flag('--tag')}`] : flag('--trunks') ? [`trunks=${flag('--trunks')}`] : [];
      return this.peer(['vsctl', this.dir, 'add-port', this.bridge, b!, ...(extra.length ? ['--', 'set', 'port', b!, ...extra] : [])]);
    }
    if (a === 'del-port') return this.peer(['vsctl', this.dir, 'del-port', this.bridge, b!]);
    if (a === 'add-flow' || a === 'del-flows' || a === 'dump-flows') return this.peer(['ofctl', this.dir, a, this.bridge, ...args.slice(1)]);
    if (a === 'dpctl' && b === 'dump-flows') return this.peer(['appctl', this.dir, 'dpctl/dump-flows']);
    if (a === 'set' && b === 'config') return this.peer(['vsctl', this.dir, 'set', 'Open_vSwitch', '.', ...args.slice(2).map((kv) => `other_config:${kv}`)]);
    if (a === 'show') return this.peer(['vsctl', this.dir, 'show']);
    return { code: 2, stdout: '', stderr: `OvsPeer: no translation for '${args.join(' ')}'` };
  }

  ok(args: string[]): string {
    const r = this.cli(args);
    if (r.code !== 0) throw new Error(`ovs: ${args.join(' ')}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  start(): void {
    spawnSync('ip', ['netns', 'del', this.ns], { stdio: 'ignore' });
    execFileOk('ip', ['netns', 'add', this.ns]);
    const r = this.peer(['up', this.dir, '--netns', this.ns, '--bridge', this.bridge]);
    if (r.code !== 0) throw new Error(`ovs-peer up: ${r.stderr.trim()}`);
  }

  addPorts(hs: readonly Host[], extra: (h: Host) => string[] = () => []): void {
    for (const h of hs) this.ok(['add-port', h.outer, '--type', 'system', ...extra(h)]);
  }

  pid(): number {
    return Number(this.peer(['pid', this.dir]).stdout.trim());
  }

  rpc(): Promise<unknown> {
    return Promise.reject(new Error('OvsPeer: no control protocol'));
  }

  logTail(n = 20): string {
    const f = join(this.dir, 'ovs-vswitchd.log');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(-n).join('\n') : '';
  }

  kill(): void {
    this.peer(['down', this.dir]);
    // The outer veth ends moved into the namespace go with it (and their pairs with them).
    spawnSync('ip', ['netns', 'del', this.ns], { stdio: 'ignore' });
    rmSync(join(this.dir, '..'), { recursive: true, force: true });
  }
}

function execFileOk(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr ?? '').trim()}`);
}

/** The switch under test: the tsvs daemon, or OVS when TSVS_SYSTEM_PEER=ovs (see OvsPeer). */
export type SystemSwitch = Daemon | OvsPeer;
export function newSwitch(bridge: string): SystemSwitch {
  return process.env.TSVS_SYSTEM_PEER === 'ovs' ? new OvsPeer(bridge) : new Daemon(bridge);
}

/** Skips a test that needs a tsvs-only feature when the switch is the OVS peer. */
export function tsvsOnly(ctx: Mocha.Context, sw: SystemSwitch, what: string): void {
  if (sw.kind !== 'tsvs') {
    console.log(`      skipped on the OVS peer: ${what}`);
    ctx.skip();
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- traffic ----

export interface PingSummary {
  sent: number;
  received: number;
}

/** `ping -c COUNT -i INTERVAL -W 1` from `from` to `to`; counts replies. */
export function ping(from: Host, to: string, count = 3, interval = 0.2, extra: string[] = []): PingSummary {
  const r = execIn(from, ['ping', '-n', '-c', String(count), '-i', String(interval), '-W', '1', ...extra, to], { allowFail: true });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: m ? Number(m[1]) : count, received: m ? Number(m[2]) : 0 };
}

/** Pings until one reply, at most `ms`; true if one came. */
export async function reachable(from: Host, to: string, ms = 5000, extra: string[] = []): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ping(from, to, 1, 0.2, extra).received === 1) return true;
    await sleep(100);
  }
  return false;
}

/**
 * A background `ping -D -i INTERVAL` recording the receive time (ping's own epoch timestamp) of
 * every reply, read as the lines arrive.
 */
export class PingMonitor {
  readonly replies: number[] = [];
  private readonly p: ChildProcess;
  private buf = '';

  constructor(from: Host, to: string, interval = 0.02) {
    const argv = inHost(from, ['ping', '-n', '-D', '-i', String(interval), '-W', '1', to]);
    this.p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    this.p.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.buf += s;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=/.exec(line);
        if (m) this.replies.push(Number(m[1]) * 1000);
      }
    });
    cleanups.push(() => this.stop());
  }

  /** Replies received in [fromMs, toMs) (epoch ms). */
  between(fromMs: number, toMs = Infinity): number {
    return this.replies.filter((t) => t >= fromMs && t < toMs).length;
  }

  /** Waits until a reply arrives after `sinceMs`, at most `ms`; true if one did. */
  async replyAfter(sinceMs: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (this.between(sinceMs) > 0) return true;
      await sleep(20);
    }
    return this.between(sinceMs) > 0;
  }

  stop(): void {
    if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill('SIGKILL');
  }
}

/**
 * [tid, nice] of each thread of process `pid`: /proc/PID/task/TID/stat, field 19 of proc(5) (the
 * fields after the command name, which may hold spaces, start after its last ')').
 */
export function threadNices(pid: number): Array<[number, number]> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
  });
}

/**
 * [tid, EEVDF slice in ns] of each thread of process `pid`: the `se.slice` line of
 * /proc/PID/task/TID/sched (CONFIG_SCHED_DEBUG; Linux >= 6.6). Null where the kernel shows none.
 */
export function threadSlices(pid: number): Array<[number, number]> | null {
  const out: Array<[number, number]> = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8');
    } catch {
      return null;
    }
    const m = /^se\.slice\s*:\s*(\d+)/m.exec(text);
    if (!m) return null;
    out.push([Number(tid), Number(m[1])]);
  }
  return out;
}

/** Whether this kernel takes a thread's own EEVDF slice (sched_setattr sched_runtime; 6.12). */
export function customSlices(): boolean {
  const [maj, min] = release().split('.').map(Number);
  return maj! > 6 || (maj === 6 && min! >= 12);
}

/** The name (/proc/PID/task/TID/comm) of each thread of process `pid`. */
export function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
}

/**
 * `iperf3 -s -p port` in host `h` (with `-1`, one test and exit, unless `once` is false), resolved
 * once it says "Server listening" (not after a fixed sleep: on a busy machine a client started too
 * early is refused and the test measures nothing). Killed by `cleanupAll` if still running.
 * Throws if it exits or is not listening within 10 s.
 */
export async function iperf3Server(h: Host, port: number, once = true): Promise<ChildProcess> {
  const argv = inHost(h, ['iperf3', '-s', ...(once ? ['-1'] : []), '-p', String(port), '--forceflush']);
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const end = Date.now() + 10_000;
  while (!out.includes('Server listening')) {
    if (proc.exitCode !== null) throw new Error(`iperf3 -s -p ${port} in ${h.ns}: exit ${proc.exitCode} before listening`);
    if (Date.now() > end) throw new Error(`iperf3 -s -p ${port} in ${h.ns}: not listening after 10 s`);
    await sleep(20);
  }
  return proc;
}

/** A process in a host running traffic.mjs; resolves once it printed `ready` (e.g. "listening"). */
export async function trafficProc(h: Host, args: string[], ready?: string): Promise<{ proc: ChildProcess; output: Promise<string> }> {
  const argv = inHost(h, [process.execPath, TRAFFIC, ...args]);
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const output = new Promise<string>((resolve, reject) => {
    proc.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`traffic.mjs ${args.join(' ')} in ${h.ns}: exit ${code}: ${err.trim()}`))));
  });
  output.catch(() => undefined);
  if (ready) {
    const end = Date.now() + 10_000;
    while (!out.includes(ready)) {
      if (proc.exitCode !== null) break;
      if (Date.now() > end) throw new Error(`traffic.mjs ${args.join(' ')}: not ${ready} after 10 s`);
      await sleep(20);
    }
  }
  return { proc, output };
}

/**
 * Spawns argv (registered for cleanup); once it printed `ready` (if given) returns `done`: its
 * stdout when it exits 0 (rejects with its stderr otherwise).
 */
export async function spawnText(argv: string[], ready?: string): Promise<{ proc: ChildProcess; done: Promise<string> }> {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const done = new Promise<string>((resolve, reject) => {
    proc.once('close', (code) => (code === 0 ? resolve(ready ? out.slice(out.indexOf(ready) + ready.length) : out) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
  done.catch(() => undefined);
  if (ready) {
    const end = Date.now() + 10_000;
    while (!out.includes(ready)) {
      if (proc.exitCode !== null) break;
      if (Date.now() > end) throw new Error(`${argv.join(' ')}: not ${ready} after 10 s`);
      await sleep(20);
    }
  }
  return { proc, done };
}

export interface Transfer {
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
}

/** Starts a TCP transfer of `bytes` from `a` to `b` (optionally paced); resolves when both ends are done. */
export async function tcpTransfer(a: Host, b: Host, bytes: number, kbps = 0, port = 7001): Promise<Transfer> {
  const server = await trafficProc(b, ['tcp-recv', String(port)], 'listening');
  const client = await trafficProc(a, ['tcp-send', b.ip4, String(port), String(bytes), String(kbps)]);
  const [s, r] = await Promise.all([client.output, server.output]);
  const last = (t: string): { bytes: number; sha256: string } => JSON.parse(t.trim().split('\n').pop()!) as { bytes: number; sha256: string };
  return { sent: last(s), received: last(r) };
}

/** One datapath flow: the match in ODP key syntax with masks, its actions and packet count. */
export interface DpFlow {
  match: string;
  actions: string;
  packets: number;
}

/**
 * The datapath flows: `tsvs dpctl dump-flows --json`, or for the OVS peer its dpctl/dump-flows text
 * (`MATCH, packets:N, bytes:N, used:T[, flags:F], actions:A`) parsed into the same fields.
 */
export function dpFlowList(d: SystemSwitch): DpFlow[] {
  if (d.kind === 'tsvs') {
    return (JSON.parse(d.ok(['dpctl', 'dump-flows', '--json'])) as { match?: string; actions?: string; packets: number }[])
      .map((f) => ({ match: f.match ?? '', actions: f.actions ?? '', packets: f.packets }));
  }
  const out: DpFlow[] = [];
  for (const l of d.ok(['dpctl', 'dump-flows']).split('\n')) {
    const m = /^(?:ufid:\S+, )?(.*?), packets:(\d+), bytes:\d+, used:[^,]+(?:, flags:[^,]+)?, actions:(.*)$/.exec(l);
    if (m) out.push({ match: m[1]!, actions: m[3]!, packets: Number(m[2]) });
  }
  return out;
}

/**
 * Whether a flow's match is exactly Ethernet `src` -> `dst` (both unmasked) with `ethType`
 * (e.g. '0x0800'): the megaflow that NORMAL installs for that traffic.
 */
export function isL2Flow(f: DpFlow, src: string, dst: string, ethType: string): boolean {
  const eth = /(?:^|,)eth\(([^)]*)\)/.exec(f.match)?.[1];
  return eth === `src=${src},dst=${dst}` && f.match.includes(`eth_type(${ethType})`);
}
