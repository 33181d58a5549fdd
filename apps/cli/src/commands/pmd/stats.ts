import { Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class PmdStats extends DataCommand {
  static override description = `Print PMD thread statistics (ovs-appctl dpif-netdev/pmd-stats-show): packets received, EMC and megaflow hits, subtable lookups per megaflow hit, misses with successful and failed upcalls, packets per output batch, idle and processing time (OVS's "cycles" are nanoseconds here).

--clear then zeroes them (dpif-netdev/pmd-stats-clear); later reads count from that point.`;

  static override examples = ['<%= config.bin %> pmd stats', '<%= config.bin %> pmd stats --clear', '<%= config.bin %> pmd stats --json'];

  static override flags = {
    clear: Flags.boolean({ description: 'clear the statistics after printing them' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PmdStats);
    const r = await this.rpc(this.socketPath(flags.socket), 'pmd/stats-show', { clear: flags.clear });
    if (flags.json) this.printJson(r.pmds);
    else process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
  }
}
