/**
 * The topology tool's command line (see topology.ts):
 *   tsx tools/netns/cli.ts up --hosts N [--prefix P] [--subnet 10.X.Y] [--mtu M] [--json]
 *   tsx tools/netns/cli.ts down [--prefix P]          (same as sweep: removes P's hosts)
 *   tsx tools/netns/cli.ts sweep PREFIX               removes leftovers; prints what it removed
 *   tsx tools/netns/cli.ts show [--prefix P] [--json] lists P's hosts
 * `up` leaves the hosts in place (persist). Exit status 2 with one line on stderr for bad usage,
 * 1 when a command fails (whatever `up` made is removed first).
 */
import { find, sweep, TopologyError, up } from './topology.js';
import type { Host } from './topology.js';

function usage(msg: string): never {
  process.stderr.write(`netns: ${msg}\nusage: netns up --hosts N [--prefix P] [--subnet 10.X.Y] [--mtu M] [--json] | down [--prefix P] | sweep PREFIX | show [--prefix P] [--json]\n`);
  process.exit(2);
}

function parse(argv: string[]): { cmd: string; pos: string[]; flags: Map<string, string> } {
  const [cmd, ...rest] = argv;
  if (!cmd) usage('no command');
  const pos: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json') flags.set('json', 'true');
    else if (a.startsWith('--')) {
      const v = rest[++i];
      if (v === undefined) usage(`option ${a} needs a value`);
      flags.set(a.slice(2), v);
    } else pos.push(a);
  }
  return { cmd, pos, flags };
}

function print(hosts: readonly Host[], json: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ hosts }) + '\n');
  else for (const h of hosts) process.stdout.write(`${h.ns}\tport ${h.outer}\t${h.inner} ${h.mac} ${h.ip4} ${h.ip6}\n`);
}

const { cmd, pos, flags } = parse(process.argv.slice(2));
const known: Record<string, string[]> = { up: ['hosts', 'prefix', 'subnet', 'mtu', 'json'], down: ['prefix'], sweep: [], show: ['prefix', 'json', 'subnet'] };
if (!known[cmd]) usage(`unknown command '${cmd}'`);
for (const k of flags.keys()) if (!known[cmd]!.includes(k)) usage(`unknown option --${k} for ${cmd}`);
try {
  const prefix = flags.get('prefix') ?? 'tsvs';
  switch (cmd) {
    case 'up': {
      const n = flags.get('hosts');
      if (n === undefined || !/^\d+$/.test(n)) usage(`up needs --hosts N (got '${n ?? ''}')`);
      const mtu = flags.get('mtu');
      if (mtu !== undefined && !/^\d+$/.test(mtu)) usage(`bad --mtu '${mtu}'`);
      const t = up({ hosts: Number(n), prefix, subnet: flags.get('subnet') ?? '10.0.0', persist: true, ...(mtu ? { mtu: Number(mtu) } : {}) });
      print(t.hosts, flags.has('json'));
      break;
    }
    case 'down':
    case 'sweep': {
      const p = cmd === 'sweep' ? pos[0] : prefix;
      if (!p) usage('sweep needs a PREFIX');
      const r = sweep(p);
      process.stdout.write(`removed ${r.namespaces.length} namespaces, ${r.links.length} links${r.namespaces.length + r.links.length ? ': ' + [...r.namespaces, ...r.links].join(' ') : ''}\n`);
      break;
    }
    case 'show':
      print(find(prefix, flags.get('subnet') ?? '10.0.0'), flags.has('json'));
      break;
  }
} catch (e) {
  if (e instanceof TopologyError) {
    process.stderr.write(`netns: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
