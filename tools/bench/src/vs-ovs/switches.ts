/**
 * The two switches of the vs-ovs benchmark, each run inside the topology's switch namespace on the
 * hosts' outer veth ends, with NORMAL switching:
 *
 * - `ovs`: Open vSwitch 3.1's userspace datapath through tools/ovs-peer/ovs-peer.sh (ovsdb-server and
 *   ovs-vswitchd from a private directory, bridge `br0` with datapath_type=netdev, the veth ends as
 *   ports, the default flow `actions=NORMAL`). The CPU figure is ovs-vswitchd's.
 * - `tsvs`: the tsvs daemon started through its CLI (`tsvs start --detach` with a private socket,
 *   config, pidfile and log in a temp dir; bridge `br0`), the veth ends added with
 *   `tsvs add-port NAME --type system` (with fanout `cpu`, the default here: `--option n_rxq=<CPUs,
 *   2..32> --option fanout=cpu`), the default flow NORMAL. The CPU figure is the daemon
 *   process's (all its threads: PMDs, handlers, revalidators).
 *
 * `stop()` is synchronous, idempotent and registered with the cleanup registry by `start()`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError, inNs, onCleanup, sh, sleep } from './proc.js';
import type { BenchTopology } from './topo.js';

export interface Switch {
  readonly name: 'ovs' | 'tsvs';
  /** Starts the switch with every host's outer end as a port. Throws BenchError (after stopping). */
  start(topo: BenchTopology): Promise<void>;
  /** The process whose CPU time is the switch's. */
  pid(): number;
  /** One line: version and configuration. */
  describe(): string;
  /** The datapath flows now (for the notes), or '' when unavailable. */
  dumpFlows(): string;
  stop(): void;
}

export class OvsSwitch implements Switch {
  readonly name = 'ovs';
  private dir = '';
  private stopFn: (() => void) | null = null;

  constructor(private readonly root: string) {}

  private script(args: string[]): string[] {
    return ['bash', join(this.root, 'tools/ovs-peer/ovs-peer.sh'), ...args];
  }

  async start(topo: BenchTopology): Promise<void> {
    // A fresh path (ovs-peer.sh wants to create it); the parent temp dir goes with stop().
    const parent = mkdtempSync(join(tmpdir(), `tsvs-vs-ovs-${topo.prefix}-`));
    this.dir = join(parent, 'ovs');
    this.stopFn = onCleanup('ovs', () => {
      sh(this.script(['down', this.dir]), { allowFail: true, timeout: 30_000 });
      rmSync(parent, { recursive: true, force: true });
    });
    try {
      sh(this.script(['up', this.dir, '--netns', topo.switchNs, '--bridge', 'br0', ...topo.hosts.map((h) => h.outer)]), { timeout: 300_000 });
    } catch (e) {
      this.stop();
      throw e;
    }
    await sleep(0);
  }

  pid(): number {
    return Number(readFileSync(join(this.dir, 'ovs-vswitchd.pid'), 'utf8').trim());
  }

  describe(): string {
    const v = sh(['ovs-vswitchd', '--version']).stdout.split('\n')[0]!.trim();
    return `${v}, datapath_type=netdev, NORMAL`;
  }

  dumpFlows(): string {
    return sh(this.script(['appctl', this.dir, 'dpctl/dump-flows']), { allowFail: true }).stdout;
  }

  stop(): void {
    const f = this.stopFn;
    this.stopFn = null;
    f?.();
  }
}

export class TsvsSwitch implements Switch {
  readonly name = 'tsvs';
  private dir = '';
  private ns = '';
  private stopFn: (() => void) | null = null;

  /**
   * `flows`: 'normal' (default: the bridge's default OpenFlow flow NORMAL, misses go up to the
   * handlers) or 'dpctl' (a fast-path-only diagnostic: static datapath flows `in_port(A),eth()` ->
   * B between the first two ports, both ways, installed with `tsvs dpctl add-flow`; no slow path).
   */
  constructor(private readonly root: string, private readonly opts: { pmdThreads?: number; flows?: 'normal' | 'dpctl'; fanout?: 'cpu' | 'hash' } = {}) {}

  /** Options of every port: fanout=cpu with an rxq per CPU, or none (the defaults). */
  private portOptions(): string[] {
    if (this.opts.fanout === 'hash') return [];
    return ['--option', `n_rxq=${Math.min(32, Math.max(2, availableParallelism()))}`, '--option', 'fanout=cpu'];
  }

  /** argv of a tsvs CLI command against this instance, run in the switch namespace. */
  cli(args: string[]): string[] {
    return inNs(this.ns, [process.execPath, join(this.root, 'apps/cli/bin/run.js'), ...args, '--socket', join(this.dir, 'tsvs.sock')]);
  }

  async start(topo: BenchTopology): Promise<void> {
    this.ns = topo.switchNs;
    this.dir = mkdtempSync(join(tmpdir(), `tsvs-vs-ovs-${topo.prefix}-tsvs-`));
    this.stopFn = onCleanup('tsvs', () => {
      const pidFile = join(this.dir, 'tsvs.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      sh(this.cli(['stop']), { allowFail: true, timeout: 15_000 });
      if (pid > 0 && alive(pid)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      rmSync(this.dir, { recursive: true, force: true });
    });
    try {
      const start = ['start', '--detach', '--config', join(this.dir, 'config.json'), '--bridge', 'br0',
        '--pidfile', join(this.dir, 'tsvs.pid'), '--log-file', join(this.dir, 'tsvs.log'), '--log-level', 'warn'];
      if (this.opts.pmdThreads) start.push('--pmd-threads', String(this.opts.pmdThreads));
      sh(this.cli(start), { timeout: 60_000 });
      for (const h of topo.hosts) sh(this.cli(['add-port', h.outer, '--type', 'system', ...this.portOptions()]), { timeout: 30_000 });
      if (this.opts.flows === 'dpctl') {
        const [a, b] = [topo.hosts[0]!.outer, topo.hosts[1]!.outer];
        const odp = (name: string): string => {
          const j = JSON.parse(sh(this.cli(['show', '--json'])).stdout) as { bridge: { ports: { name: string; odpPort: number | null }[] } };
          const n = j.bridge.ports.find((x) => x.name === name)?.odpPort;
          if (n === undefined || n === null) throw new BenchError(`tsvs show: no odp port number for ${name}`);
          return String(n);
        };
        sh(this.cli(['dpctl', 'add-flow', `in_port(${a}),eth()`, odp(b)]));
        sh(this.cli(['dpctl', 'add-flow', `in_port(${b}),eth()`, odp(a)]));
      }
    } catch (e) {
      const log = existsSync(join(this.dir, 'tsvs.log')) ? readFileSync(join(this.dir, 'tsvs.log'), 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      this.stop();
      throw new BenchError(`${(e as Error).message}${log ? ` (daemon log: ${log})` : ''}`);
    }
  }

  pid(): number {
    return Number(readFileSync(join(this.dir, 'tsvs.pid'), 'utf8').trim());
  }

  describe(): string {
    const v = sh(this.cli(['version']), { allowFail: true }).stdout.trim();
    const show = sh(this.cli(['show', '--json']), { allowFail: true }).stdout;
    let threads = '';
    try {
      const s = JSON.parse(show) as { threads: Record<string, { count?: number }> };
      threads = Object.entries(s.threads).map(([k, t]) => `${k}=${t.count ?? '?'}`).join(' ');
    } catch { /* older daemon */ }
    const flows = this.opts.flows === 'dpctl' ? 'static dpctl flows (no slow path)' : 'NORMAL';
    const ports = this.portOptions().filter((x) => x !== '--option').join(' ');
    return `${v || 'tsvs'}, system ports${ports ? ` (${ports})` : ''}, ${flows}${threads ? `, threads ${threads}` : ''}`;
  }

  dumpFlows(): string {
    return sh(this.cli(['dpctl', 'dump-flows']), { allowFail: true }).stdout;
  }

  stop(): void {
    const f = this.stopFn;
    this.stopFn = null;
    f?.();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
