import { Args } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class DpctlGetFlow extends DataCommand {
  static override description = 'Print one datapath flow by its UFID (ovs-appctl dpctl/get-flow), in the dump-flows -m format.';

  static override examples = ['<%= config.bin %> dpctl get-flow ufid:5c5e5c5e-0b3a-4d9e-8f41-6e0e7a1c2b3d'];

  static override args = {
    ufid: Args.string({ description: 'ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (the ufid: prefix is optional)', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DpctlGetFlow);
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/get-flow', { ufid: args.ufid });
    if (flags.json) this.printJson(r.flow);
    else process.stdout.write(r.text);
  }
}
