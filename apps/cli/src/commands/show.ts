import { OFPP_LOCAL, TUNABLES, TUNABLE_NAMES, type ShowResult } from '@tsvs/control';
import { DataCommand } from '../base-command.js';
import { formatDuration, formatTree } from '../format.js';

export default class Show extends DataCommand {
  static override description = `Show the daemon: bridge and ports, threads, tunables, pid, uptime.

The datapath line gives its lookups (hit: matched a datapath flow, missed: went up as an upcall, lost: no room in the upcall queue) and its flow count, as ovs-appctl dpctl/show. Ports list their OpenFlow port number (ofport; LOCAL is the bridge's own port), datapath port number (odp port), type, state (up, or error with the reason when it could not be opened), options and receive queues with the PMD thread polling each. Threads list, per kind, the running count, whether it is automatic, and how many times a thread of that kind died and was restarted. --json prints the same data as one JSON document (the \`show\` result of the control protocol, @tsvs/control ShowResult).`;

  static override examples = [
    '<%= config.bin %> show',
    { description: 'Machine-readable', command: '<%= config.bin %> show --json' },
    { description: 'Thread restarts only, with jq', command: "<%= config.bin %> show --json | jq '.threads | map_values(.restarts)'" },
  ];

  async run(): Promise<void> {
    const { flags } = await this.parse(Show);
    const show = await this.rpc(this.socketPath(flags.socket), 'show');
    if (flags.json) this.printJson(show);
    else this.log(formatShow(show));
  }
}

export function formatShow(s: ShowResult): string {
  const out: string[] = [];
  out.push(`tsvs ${s.version}: pid ${s.pid}, up ${formatDuration(s.uptimeMs)} (since ${s.startedAt}), log level ${s.logLevel}`);
  out.push(`socket ${s.socket}, config ${s.configPath}`);
  out.push(`Bridge ${s.bridge.name}`);
  if (s.datapath) {
    const d = s.datapath;
    out.push(`    datapath ${d.name}: lookups: hit:${d.hit} missed:${d.missed} lost:${d.lost}, flows: ${d.flows}`);
  }
  if (s.bridge.ports.length === 0) out.push('    (no ports)');
  for (const p of s.bridge.ports) {
    const opts = Object.entries(p.options).map(([k, v]) => `${k}=${v}`);
    const ofport = p.ofport === OFPP_LOCAL ? 'LOCAL' : (p.ofport ?? '-');
    out.push(
      `    Port ${p.name}: type ${p.type}, ofport ${ofport}, odp port ${p.odpPort ?? '-'}, ${p.error ? `error "${p.error}"` : p.state}` +
        (opts.length ? `, options {${opts.join(', ')}}` : '') +
        (p.vlan_mode !== undefined ? `, vlan_mode ${p.vlan_mode}` : '') +
        (p.tag !== undefined ? `, tag ${p.tag}` : '') +
        (p.trunks !== undefined ? `, trunks [${p.trunks.join(',')}]` : ''),
    );
    for (const q of p.rxqs) out.push(`        rxq ${q.rxq}: pmd ${q.pmd ?? 'unassigned'}`);
  }
  out.push('Threads');
  for (const [kind, t] of Object.entries(s.threads)) {
    out.push(`    ${kind.padEnd(12)} ${String(t.count).padStart(3)}${t.auto ? ' (auto)' : '       '}  alive ${t.alive}  restarts ${t.restarts}`);
  }
  if (s.locksRecovered) out.push(`    locks taken over from dead threads: ${s.locksRecovered}`);
  out.push('Tunables');
  for (const name of TUNABLE_NAMES) {
    const unit = TUNABLES[name].unit;
    out.push(`    ${name.padEnd(20)} ${s.tunables[name]}${unit.startsWith('1/') ? '' : ' ' + unit}`);
  }
  out.push(`OpenFlow rules: ${s.openflow.rules}`);
  for (const [name, value] of Object.entries(s.extensions)) {
    out.push(`${name}:`);
    out.push(...formatTree(value, '    '));
  }
  return out.join('\n');
}
