/**
 * The benchmark's topology: N hosts from the topology tool (tools/netns: namespace PREFIX-hI with
 * eth0 = SUBNET.(I+1), on a veth pair whose outer end is PREFIX-I), and one switch namespace
 * PREFIX-sw into which the outer ends are moved.
 *
 * Both switches run inside PREFIX-sw, one after the other, on the same veth pairs: whatever they
 * create there (OVS's `ovs-netdev` and bridge taps, tsvs's local port) vanishes with the namespace,
 * and nothing of the benchmark is visible in the root namespace. In PREFIX-sw the outer ends are up,
 * have IPv6 disabled (silent) and checksum/segmentation offloads off, as the tool makes them.
 *
 * The tool is driven through its CLI (`tools/netns/cli.ts`, run with tsx) because the benchmark runs
 * compiled from tools/bench/dist. `down()` is idempotent and registered with the cleanup registry.
 */
import { join } from 'node:path';
import { BenchError, inNs, onCleanup, sh } from './proc.js';

export interface BenchHost {
  index: number;
  ns: string;
  outer: string;
  inner: string;
  mac: string;
  ip4: string;
  ip6: string;
}

export interface BenchTopology {
  prefix: string;
  /** The switch namespace holding the outer veth ends. */
  switchNs: string;
  hosts: BenchHost[];
  down(): void;
}

export const OFFLOADS_OFF = ['tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

function netnsCli(root: string, args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', join(root, 'tools/netns/cli.ts'), ...args];
}

/** Creates `n` hosts and the switch namespace. Throws BenchError (after undoing) on failure. */
export function topologyUp(root: string, prefix: string, n: number, subnet: string): BenchTopology {
  const switchNs = `${prefix}-sw`;
  const down = onCleanup(`topology ${prefix}`, () => {
    // Deleting the switch namespace destroys the veth pairs whose ends are in it; then the hosts.
    sh(['ip', 'netns', 'del', switchNs], { allowFail: true });
    sh(netnsCli(root, ['sweep', prefix]), { allowFail: true, env: { ...process.env }, timeout: 30_000 });
  });
  try {
    const out = sh(netnsCli(root, ['up', '--hosts', String(n), '--prefix', prefix, '--subnet', subnet, '--json']), { timeout: 60_000 }).stdout;
    const hosts = (JSON.parse(out) as { hosts: BenchHost[] }).hosts;
    if (hosts.length !== n) throw new BenchError(`topology tool made ${hosts.length} hosts, wanted ${n}`);
    sh(['ip', 'netns', 'add', switchNs]);
    sh(['ip', '-n', switchNs, 'link', 'set', 'lo', 'up']);
    for (const h of hosts) {
      sh(['ip', 'link', 'set', h.outer, 'netns', switchNs]);
      sh(inNs(switchNs, ['sysctl', '-qw', `net.ipv6.conf.${h.outer}.disable_ipv6=1`]));
      sh(inNs(switchNs, ['ethtool', '-K', h.outer, ...OFFLOADS_OFF]));
      sh(['ip', '-n', switchNs, 'link', 'set', h.outer, 'up']);
    }
    return { prefix, switchNs, hosts, down };
  } catch (e) {
    down();
    throw e;
  }
}

/** `ethtool -k` offload states of the interfaces (for the report: both switches ran on the same settings). */
export function offloadStates(topo: BenchTopology): string {
  const keys = ['rx-checksumming', 'tx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload'];
  const states = new Set<string>();
  for (const h of topo.hosts) {
    for (const argv of [inNs(topo.switchNs, ['ethtool', '-k', h.outer]), inNs(h.ns, ['ethtool', '-k', h.inner])]) {
      const text = sh(argv).stdout;
      for (const k of keys) {
        const m = new RegExp(`^${k}: (on|off)`, 'm').exec(text);
        states.add(`${k}=${m?.[1] ?? '?'}`);
      }
    }
  }
  return [...states].sort().join(' ');
}
