import { Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class PmdRxqShow extends DataCommand {
  static override description = `Print which PMD thread polls each receive queue and how busy they are (ovs-appctl dpif-netdev/pmd-rxq-show): per PMD its overhead and, per rxq, the share of the PMD's processing time it took over the last --secs seconds (default 60, in 5 s steps).`;

  static override examples = ['<%= config.bin %> pmd rxq-show', '<%= config.bin %> pmd rxq-show --secs 5', '<%= config.bin %> pmd rxq-show --json'];

  static override flags = {
    secs: Flags.integer({ description: 'measurement window, seconds (rounded up to 5)', min: 1, max: 60, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PmdRxqShow);
    const r = await this.rpc(this.socketPath(flags.socket), 'pmd/rxq-show', flags.secs !== undefined ? { secs: flags.secs } : {});
    if (flags.json) this.printJson(r.pmds);
    else process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
  }
}
