import { Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class DpctlDumpFlows extends DataCommand {
  static override description = `Print the datapath flows (ovs-appctl dpctl/dump-flows).

One line per flow, in the format of OVS 3.1: the match in datapath (ODP) key syntax with masks, then packets, bytes, used (seconds since the last packet, or never), flags (TCP flags seen) and the datapath actions. -m is OVS's verbose form: the flow's UFID first, every key attribute and field (wildcarded ones as value/0), dp:ovs, and ports by name. --terse prints only UFID and statistics, as revalidators dump flows. --json gives the plain form.`;

  static override examples = [
    '<%= config.bin %> dpctl dump-flows',
    '<%= config.bin %> dpctl dump-flows -m',
    '<%= config.bin %> dpctl dump-flows --terse',
    { description: 'Machine-readable', command: '<%= config.bin %> dpctl dump-flows --json' },
  ];

  static override flags = {
    more: Flags.boolean({ char: 'm', description: 'verbose (OVS -m): UFID, every key field including wildcarded ones, port names' }),
    terse: Flags.boolean({ description: 'UFID and statistics only', exclusive: ['more'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DpctlDumpFlows);
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/dump-flows', { verbose: flags.more, terse: flags.terse }, 60_000);
    if (flags.json) this.printJson(r.flows);
    else process.stdout.write(r.text);
  }
}
