/**
 * A private Open vSwitch (userspace datapath, no kernel module) for producing reference output.
 *
 * Everything lives in a fresh temp dir (database, sockets, pid, log and stderr files; OVS_RUNDIR,
 * OVS_LOGDIR, OVS_DBDIR and OVS_SYSCONFDIR point there) and ovs-vswitchd runs in its own network
 * namespace (`unshare --net`): the netdev datapath creates tap devices for its internal ports
 * (`ovs-netdev`, `br0`, `p1`) and makes them persistent, so in the host namespace they would
 * outlive the daemon (and clash with anyone else's `br0`); in a private namespace they vanish with
 * it. ofproto/trace also executes the traced packet, which then only reaches those private taps.
 *
 * ovs-vswitchd is a direct child (not --detach) so that its stderr and its death are observed:
 * OVS 3.1 aborts on some inputs (see README.md), and the caller records that and starts afresh.
 *
 * Bridge: br0 with datapath_type=netdev and OVS's default configuration (one flow: priority 0,
 * actions=NORMAL), plus an internal port p1 with ofport_request=1, so that `in_port=1` names a real
 * port of the bridge. stop() always ends both daemons and removes the temp dir.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BRIDGE = 'br0';
export const PORT_NAME = 'p1';
export const OFPORT = 1;
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface ExitInfo { code: number | null; signal: NodeJS.Signals | null }

export class OvsSandbox {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;
  private vswitchd: ChildProcess | null = null;
  private exitInfo: ExitInfo | null = null;
  private exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private stopped = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'tsvs-ovs-golden-'));
    const d = this.dir;
    this.env = { ...process.env, OVS_RUNDIR: d, OVS_LOGDIR: d, OVS_DBDIR: d, OVS_SYSCONFDIR: d };
  }

  /** `ovs-vswitchd --version` first line, e.g. "ovs-vswitchd (Open vSwitch) 3.1.0". */
  static version(): string {
    return execFileSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  }

  async start(): Promise<void> {
    const d = this.dir;
    this.run('ovsdb-tool', ['create', `${d}/conf.db`, SCHEMA]);
    this.run('ovsdb-server', [`${d}/conf.db`, `--remote=punix:${d}/db.sock`, `--pidfile=${d}/ovsdb-server.pid`, '--detach', `--log-file=${d}/ovsdb-server.log`]);
    this.vsctl('--no-wait', 'init');
    const errFd = openSync(join(d, 'ovs-vswitchd.stderr'), 'a');
    try {
      const child = spawn('unshare', ['--net', '--', 'ovs-vswitchd', `unix:${d}/db.sock`, `--pidfile=${d}/ovs-vswitchd.pid`, `--log-file=${d}/ovs-vswitchd.log`],
        { env: this.env, stdio: ['ignore', 'ignore', errFd] });
      this.vswitchd = child;
      this.exited = new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => { this.exitInfo = { code, signal }; resolve(this.exitInfo); });
        child.once('error', () => { this.exitInfo = { code: null, signal: null }; resolve(this.exitInfo); });
      });
    } finally {
      closeSync(errFd);
    }
    await this.waitFor(() => existsSync(this.vswitchdCtl()), 20_000, 'ovs-vswitchd control socket');
    // Without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change.
    this.vsctl('add-br', BRIDGE, '--', 'set', 'bridge', BRIDGE, 'datapath_type=netdev');
    this.vsctl('add-port', BRIDGE, PORT_NAME, '--', 'set', 'interface', PORT_NAME, 'type=internal', `ofport_request=${OFPORT}`);
    const ofport = this.vsctl('get', 'interface', PORT_NAME, 'ofport').trim();
    if (ofport !== String(OFPORT)) throw new Error(`port ${PORT_NAME} got ofport ${ofport}, wanted ${OFPORT}`);
  }

  /** The unixctl socket of ovs-vswitchd. */
  vswitchdCtl(): string {
    return join(this.dir, `ovs-vswitchd.${this.vswitchd?.pid ?? 0}.ctl`);
  }

  /** How ovs-vswitchd ended (null while it runs); waits up to `ms` for it to end. */
  async vswitchdExit(ms: number): Promise<ExitInfo | null> {
    if (this.exitInfo !== null) return this.exitInfo;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => { t = setTimeout(() => resolve(null), ms); });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(t);
    return r;
  }

  /** The last non-empty line ovs-vswitchd wrote to stderr ('' if none). */
  lastStderrLine(): string {
    const f = join(this.dir, 'ovs-vswitchd.stderr');
    if (!existsSync(f)) return '';
    const lines = readFileSync(f, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return lines.at(-1) ?? '';
  }

  /** Ends ovs-vswitchd and ovsdb-server (politely, then by signal) and removes the temp dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      const child = this.vswitchd;
      if (child !== null && this.exitInfo === null && child.pid !== undefined) {
        try { this.run('ovs-appctl', ['-t', this.vswitchdCtl(), 'exit'], 10_000); } catch { /* signals below */ }
        if ((await this.vswitchdExit(5000)) === null) {
          child.kill('SIGTERM');
          if ((await this.vswitchdExit(3000)) === null) {
            child.kill('SIGKILL');
            await this.vswitchdExit(3000);
          }
        }
      }
      const dbPid = this.pidFromFile('ovsdb-server');
      if (dbPid !== null) {
        try { this.run('ovs-appctl', ['-t', join(this.dir, `ovsdb-server.${dbPid}.ctl`), 'exit'], 10_000); } catch { /* signals below */ }
        // ovsdb-server detached, so it is not our child: poll for it to go.
        if (!(await gone(dbPid, 5000))) {
          try { process.kill(dbPid, 'SIGKILL'); } catch { /* already gone */ }
          await gone(dbPid, 3000);
        }
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  vsctl(...args: string[]): string {
    return this.run('ovs-vsctl', [`--db=unix:${this.dir}/db.sock`, '--timeout=20', ...args]);
  }

  private pidFromFile(daemon: string): number | null {
    const f = join(this.dir, `${daemon}.pid`);
    if (!existsSync(f)) return null;
    const n = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  }

  private async waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (this.exitInfo !== null) throw new Error(`ovs-vswitchd exited (${JSON.stringify(this.exitInfo)}) before ${what} appeared: ${this.lastStderrLine()}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  private run(cmd: string, args: string[], timeout = 30_000): string {
    return execFileSync(cmd, args, { env: this.env, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > end) return false;
    await sleep(50);
  }
}
