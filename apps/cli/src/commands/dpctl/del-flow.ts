import { Args } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class DpctlDelFlow extends DataCommand {
  static override description = `Delete one datapath flow (ovs-appctl dpctl/del-flow), by UFID or by its exact match in ODP key syntax; prints the flow with its final statistics.`;

  static override examples = [
    '<%= config.bin %> dpctl del-flow ufid:5c5e5c5e-0b3a-4d9e-8f41-6e0e7a1c2b3d',
    "<%= config.bin %> dpctl del-flow 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)'",
  ];

  static override args = {
    flow: Args.string({ description: 'UFID, or the flow match (ODP key syntax)', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DpctlDelFlow);
    const isUfid = /^(ufid:)?[0-9a-fA-F]{8}-/.test(args.flow.trim());
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/del-flow', isUfid ? { ufid: args.flow } : { flow: args.flow });
    if (flags.json) this.printJson(r.flow);
    else process.stdout.write(r.text);
  }
}
