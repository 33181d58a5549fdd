import { Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class FdbShow extends DataCommand {
  static override description = `Print the MAC learning table of NORMAL (ovs-appctl fdb/show): port, VLAN, MAC and age in seconds, least recently used first. --stats adds fdb/stats-show (entries, learned, expired, evicted, moved).`;

  static override examples = ['<%= config.bin %> fdb show', '<%= config.bin %> fdb show --names --stats', '<%= config.bin %> fdb show --json'];

  static override flags = {
    names: Flags.boolean({ description: 'port names instead of numbers' }),
    stats: Flags.boolean({ description: 'add the table statistics' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(FdbShow);
    const r = await this.rpc(this.socketPath(flags.socket), 'fdb/show', { names: flags.names });
    if (flags.json) {
      this.printJson({ entries: parseFdb(r.text), stats: r.stats });
      return;
    }
    process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
    if (flags.stats) process.stdout.write(r.stats.endsWith('\n') ? r.stats : r.stats + '\n');
  }
}

/** The fdb/show rows as objects (the text has a header line, then ` port VLAN MAC Age`). */
function parseFdb(text: string): { port: string; vlan: number; mac: string; age: number | string }[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length >= 4)
    .map(([port, vlan, mac, age]) => ({ port: port!, vlan: Number(vlan), mac: mac!, age: /^\d+$/.test(age!) ? Number(age) : age! }));
}
