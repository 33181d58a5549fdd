/**
 * Network-namespace hosts for system tests and benchmarks: N hosts, each in its own network
 * namespace on a veth pair whose outer end stays in the root namespace (to become a switch port).
 *
 * Names (so several runs coexist; Linux interface names are at most 15 bytes):
 *   namespace   PREFIX-hI        (I = 0..N-1)
 *   outer veth  PREFIX-I         root namespace, up, no address, IPv6 disabled (it stays silent:
 *                                 no router solicitations or MLD reports from the root namespace)
 *   inner veth  eth0             inside the namespace (created there directly, so runs never clash)
 * PREFIX: a lower-case letter then up to 10 letters/digits. Only names matching exactly
 * `PREFIX-<digits>` / `PREFIX-h<digits>` are ever deleted.
 *
 * Each host: MAC 02:HH:HH:HH:00:II (HH from a hash of the prefix, II = I + 1), IPv4 SUBNET.(I+1)/24
 * (default subnet 10.0.0; any 10.x.y), IPv6 fd00::(I+1)/64 (nodad), loopback up, no periodic IPv6
 * traffic of its own (QUIET_IPV6: no router solicitations, no DAD, MLD reports only at once). Checksum and
 * segmentation offloads are off on both ends (`ethtool -K IF tx off rx off tso off gso off gro
 * off`): a userspace switch forwards frames as they are, and a partial checksum would stay unfilled.
 *
 * Cleanup: `down()` is idempotent. Unless `persist` is set, a topology is also removed when the
 * process exits (the 'exit' event, also after an uncaught exception) or gets SIGINT / SIGTERM / SIGHUP
 * (cleanup, then the signal's default action). A failure in `up` removes what it made before
 * throwing. `sweep(prefix)` removes leftovers of a run that could not clean up (SIGKILL).
 *
 * Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespaces), `ip` (iproute2) and `ethtool`.
 * Errors: `TopologyError`, one line naming the command that failed and its stderr.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncOptions, SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export interface TopologyOptions {
  /** Number of hosts, 1..100. */
  readonly hosts: number;
  /** Name prefix (see the module comment). Default 'tsvs'. */
  readonly prefix?: string;
  /** First three octets of the hosts' /24, in 10.0.0.0/8. Default '10.0.0'. */
  readonly subnet?: string;
  /** Keep the topology after this process ends (the CLI's `up`). Default false. */
  readonly persist?: boolean;
  /** MTU of both veth ends. Default: the kernel's (1500). */
  readonly mtu?: number;
}

export interface Host {
  readonly index: number;
  /** Network namespace name. */
  readonly ns: string;
  /** Veth end in the root namespace (the switch port). */
  readonly outer: string;
  /** Veth end inside the namespace. */
  readonly inner: string;
  readonly mac: string;
  /** IPv4 address without prefix length. */
  readonly ip4: string;
  /** IPv6 address without prefix length. */
  readonly ip6: string;
}

export interface Topology {
  readonly prefix: string;
  readonly hosts: readonly Host[];
  /** Removes the hosts (idempotent). */
  down(): void;
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

const PREFIX_RE = /^[a-z][a-z0-9]{0,10}$/;

/** Checks a prefix; throws TopologyError naming it. */
export function checkPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) {
    throw new TopologyError(`bad prefix '${prefix}' (want a lower-case letter then up to 10 letters or digits)`);
  }
}

function run(args: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): SpawnSyncReturns<string> {
  const o: SpawnSyncOptions = { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] };
  if (opts.input !== undefined) o.input = opts.input;
  const r = spawnSync(args[0]!, args.slice(1), o) as SpawnSyncReturns<string>;
  if (!opts.allowFail && (r.error || r.status !== 0)) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n')[0];
    throw new TopologyError(`${args.join(' ')}: ${why}`);
  }
  return r;
}

/** Names of the hosts' interfaces and namespace. */
export function hostNames(prefix: string, i: number): { ns: string; outer: string; inner: string } {
  return { ns: `${prefix}-h${i}`, outer: `${prefix}-${i}`, inner: 'eth0' };
}

function macFor(prefix: string, i: number): string {
  const h = createHash('sha256').update(prefix).digest();
  const b = [0x02, h[0]!, h[1]!, h[2]!, 0x00, (i + 1) & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const OFFLOADS = ['tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

/**
 * IPv6 settings (net.ipv6.conf.IF.*) that keep a host from sending anything on its own: by default
 * Linux sends router solicitations for ever (router_solicitations=-1: at 4 s, 8 s, ... up to every
 * hour), duplicate address detection probes for the link-local address (then an RS and an MLD
 * report once it is done), and repeats each MLD report over 1 s (v2) / 10 s (v1). Such frames
 * re-create datapath flows in the middle of a test's idle window. With these, a host sends only
 * what its applications send, ND/ARP for that traffic, and its MLD reports at the moment an address
 * is added or the link comes up (the kernel has no switch for those; an interval of 0 sends the
 * repeats at once instead of up to 1 s / 10 s later). IPv6 itself stays on: tests use ND and ping6.
 */
export const QUIET_IPV6: Readonly<Record<string, string>> = {
  router_solicitations: '0',
  accept_dad: '0',
  dad_transmits: '0',
  mldv1_unsolicited_report_interval: '0',
  mldv2_unsolicited_report_interval: '0',
};

/** A `sh -c` script applying QUIET_IPV6 to `ifname` and to the namespace's `default` (links made later). */
function quietIpv6Script(ifname: string): string {
  const lines: string[] = [];
  for (const dev of ['default', ifname]) {
    for (const [k, v] of Object.entries(QUIET_IPV6)) lines.push(`echo ${v} > /proc/sys/net/ipv6/conf/${dev}/${k}`);
  }
  return `set -e; ${lines.join('; ')}`;
}

/** Runs `cmd` inside host `h`'s namespace (`ip netns exec`). */
export function execIn(h: Pick<Host, 'ns'>, cmd: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): SpawnSyncReturns<string> {
  return run(['ip', 'netns', 'exec', h.ns, ...cmd], opts);
}

/** The argv that runs `cmd` inside host `h`'s namespace (for spawn / execFile). */
export function inHost(h: Pick<Host, 'ns'>, cmd: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', h.ns, ...cmd];
}

// ---- cleanup registry (process-wide) ----

const live = new Map<string, () => void>();
let hooked = false;

function cleanupAll(): void {
  for (const down of [...live.values()]) {
    try {
      down();
    } catch {
      // Best effort at exit: `sweep` removes what is left.
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  cleanupAll();
  // Default action of the signal now that the hosts are gone (exit status 128 + signal number).
  process.removeListener(sig, onSignal);
  process.kill(process.pid, sig);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupAll);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
}

/** Removes host `i`'s link (if `link`: this run made it) and namespace. */
function removeHost(prefix: string, i: number, link = true): void {
  const n = hostNames(prefix, i);
  // Deleting one end deletes the pair; then the namespace (whose deletion would also take the pair,
  // but asynchronously).
  if (link) run(['ip', 'link', 'del', n.outer], { allowFail: true });
  run(['ip', 'netns', 'del', n.ns], { allowFail: true });
}

/**
 * Creates the hosts. Throws TopologyError (after removing what it made) on bad options, a name
 * already taken, or a failing command.
 */
export function up(opts: TopologyOptions): Topology {
  const prefix = opts.prefix ?? 'tsvs';
  checkPrefix(prefix);
  const n = opts.hosts;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new TopologyError(`bad host count '${n}' (want 1..100)`);
  const subnet = opts.subnet ?? '10.0.0';
  const m = /^10\.(\d{1,3})\.(\d{1,3})$/.exec(subnet);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new TopologyError(`bad subnet '${subnet}' (want 10.X.Y, private range)`);
  if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535)) {
    throw new TopologyError(`bad mtu '${opts.mtu}' (want 68..65535)`);
  }
  if (live.has(prefix)) throw new TopologyError(`prefix '${prefix}' is already up in this process`);
  // What this run made: host index and whether its veth pair exists (a name taken by someone else
  // makes `ip link add` fail, and that link is not ours to delete).
  const made: { i: number; link: boolean }[] = [];
  const downFn = (): void => {
    for (const m of made) removeHost(prefix, m.i, m.link);
    made.length = 0;
    live.delete(prefix);
  };
  // Registered before the first command: an interrupt during `up` cleans up too.
  hook();
  live.set(prefix, downFn);
  const hosts: Host[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const names = hostNames(prefix, i);
      const h: Host = { index: i, ...names, mac: macFor(prefix, i), ip4: `${subnet}.${i + 1}`, ip6: `fd00::${(i + 1).toString(16)}` };
      run(['ip', 'netns', 'add', h.ns]);
      const m = { i, link: false };
      made.push(m);
      const mtu = opts.mtu !== undefined ? ['mtu', String(opts.mtu)] : [];
      run(['ip', 'link', 'add', h.outer, ...mtu, 'type', 'veth', 'peer', 'name', h.inner, ...mtu, 'netns', h.ns]);
      m.link = true;
      // Silence the outer end before it comes up (no IPv6 link-local address, no RS / MLD).
      writeFileSync(`/proc/sys/net/ipv6/conf/${h.outer}/disable_ipv6`, '1');
      run(['ethtool', '-K', h.outer, ...OFFLOADS]);
      run(['ip', 'link', 'set', h.outer, 'up']);
      execIn(h, ['ethtool', '-K', h.inner, ...OFFLOADS]);
      // Before the inner end comes up: no periodic IPv6 chatter (see QUIET_IPV6).
      execIn(h, ['sh', '-c', quietIpv6Script(h.inner)]);
      run(['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', h.ns, 'link', 'set', h.inner, 'address', h.mac]);
      run(['ip', '-n', h.ns, 'addr', 'add', `${h.ip4}/24`, 'dev', h.inner]);
      run(['ip', '-n', h.ns, 'addr', 'add', `${h.ip6}/64`, 'dev', h.inner, 'nodad']);
      run(['ip', '-n', h.ns, 'link', 'set', h.inner, 'up']);
      hosts.push(h);
    }
  } catch (e) {
    downFn();
    throw e;
  }
  if (opts.persist) live.delete(prefix);
  return { prefix, hosts, down: downFn };
}

/** What `sweep` would remove (or did). */
export interface SweepResult {
  namespaces: string[];
  links: string[];
}

/** Our leftovers for `prefix`: namespaces PREFIX-hN and root-namespace links PREFIX-N. */
export function leftovers(prefix: string): SweepResult {
  checkPrefix(prefix);
  const nsRe = new RegExp(`^${prefix}-h\\d+$`);
  const linkRe = new RegExp(`^${prefix}-\\d+$`);
  const namespaces = run(['ip', 'netns', 'list']).stdout.split('\n')
    .map((l) => l.split(' ')[0]!).filter((s) => nsRe.test(s));
  const links = run(['ip', '-o', 'link', 'show']).stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '').filter((s) => linkRe.test(s));
  const byIndex = (a: string, b: string): number => Number(/\d+$/.exec(a)![0]) - Number(/\d+$/.exec(b)![0]);
  return { namespaces: namespaces.sort(byIndex), links: links.sort(byIndex) };
}

/** Removes every leftover of `prefix` (idempotent); returns what it removed. */
export function sweep(prefix: string): SweepResult {
  const found = leftovers(prefix);
  for (const l of found.links) run(['ip', 'link', 'del', l], { allowFail: true });
  for (const ns of found.namespaces) run(['ip', 'netns', 'del', ns], { allowFail: true });
  live.delete(prefix);
  return found;
}

/** The hosts of a topology created (e.g. by the CLI) with this prefix, from the names that exist. */
export function find(prefix: string, subnet = '10.0.0'): Host[] {
  const { namespaces } = leftovers(prefix);
  return namespaces.map((ns) => Number(ns.slice(prefix.length + 2))).sort((a, b) => a - b).map((i) => ({
    index: i, ...hostNames(prefix, i), mac: macFor(prefix, i), ip4: `${subnet}.${i + 1}`, ip6: `fd00::${(i + 1).toString(16)}`,
  }));
}
