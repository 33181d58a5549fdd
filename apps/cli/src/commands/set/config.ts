import { TUNABLES, TUNABLE_NAMES, parseTunableAssignments } from '@tsvs/control';
import { DataCommand, UsageError } from '../../base-command.js';

const table = TUNABLE_NAMES.map((n) => {
  const t = TUNABLES[n];
  return `  ${n.padEnd(20)} ${t.unit.padEnd(10)} default ${String(t.default).padEnd(7)} min ${t.min}`;
}).join('\n');

export default class SetConfig extends DataCommand {
  static override description = `Set tunables at runtime; they are saved in the config file.

All KEY=VALUE pairs are checked first: if any is bad, nothing changes (exit 2). Keys and ranges follow Open vSwitch (ovs-vswitchd.conf.db(5)); pmd-rx-usecs (rx coalescing, after ethtool's rx-usecs) and pmd-idle-nap-usecs (how an idle PMD waits just after traffic) are tsvs's own:
${table}`;

  static override examples = [
    '<%= config.bin %> set config max-idle=20000',
    '<%= config.bin %> set config flow-limit=50000 max-revalidator=1000',
    { description: 'Disable EMC insertion', command: '<%= config.bin %> set config emc-insert-inv-prob=0' },
    { description: 'PMDs poll again at once after a partial burst (lowest latency under load, more CPU)', command: '<%= config.bin %> set config pmd-rx-usecs=0' },
    { description: 'Idle PMDs block on their socket rxqs at once (senders pay a wake-up per lone frame)', command: '<%= config.bin %> set config pmd-idle-nap-usecs=0' },
  ];

  static override strict = false;
  static override usage = 'set config KEY=VALUE... [--socket PATH] [--json]';

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SetConfig);
    const parsed = parseTunableAssignments(argv as string[]);
    if (!parsed.ok) throw new UsageError(parsed.error);
    const before = await this.rpc(this.socketPath(flags.socket), 'config/get');
    const r = await this.rpc(this.socketPath(flags.socket), 'config/set', { settings: parsed.patch });
    if (flags.json) {
      this.printJson(r);
      return;
    }
    for (const name of Object.keys(parsed.patch) as (keyof typeof parsed.patch)[]) {
      const was = before.tunables[name];
      this.log(r.changed.includes(name) ? `${name}=${r.tunables[name]} (was ${was})` : `${name}=${r.tunables[name]} (unchanged)`);
    }
  }
}
