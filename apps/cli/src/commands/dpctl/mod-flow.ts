import { Args, Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class DpctlModFlow extends DataCommand {
  static override description = `Change the actions of a datapath flow in place (ovs-appctl dpctl/mod-flow FLOW ACTIONS); its statistics are kept unless --clear.`;

  static override examples = [
    "<%= config.bin %> dpctl mod-flow 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)' 3",
    "<%= config.bin %> dpctl mod-flow --may-create --clear 'in_port(1),eth()' drop",
  ];

  static override args = {
    flow: Args.string({ description: 'match, ODP key syntax', required: true }),
    actions: Args.string({ description: 'datapath actions', required: true }),
  };

  static override flags = {
    'may-create': Flags.boolean({ description: 'create the flow if it does not exist' }),
    clear: Flags.boolean({ description: 'zero the flow statistics' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DpctlModFlow);
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/mod-flow', {
      flow: args.flow, actions: args.actions, create: flags['may-create'], zeroStats: flags.clear,
    });
    if (flags.json) this.printJson(r);
    else this.log(`${r.ufid}${r.created ? ' (created)' : ''}`);
  }
}
