import { Args } from '@oclif/core';
import { DataCommand, UsageError } from '../../base-command.js';

export default class UpcallSetFlowLimit extends DataCommand {
  static override description = `Set the dynamic datapath flow limit (ovs-appctl upcall/set-flow-limit). The revalidators adapt it after every round from the dump duration, within [1000, flow-limit]: to change the upper bound for good use \`tsvs set config flow-limit=N\`.`;

  static override examples = ['<%= config.bin %> upcall set-flow-limit 5000'];

  static override args = {
    limit: Args.string({ description: 'flows', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UpcallSetFlowLimit);
    if (!/^\d+$/.test(args.limit) || Number(args.limit) > 0x7fffffff) throw new UsageError(`"${args.limit}": the flow limit is an integer from 0 to 2147483647`);
    const r = await this.rpc(this.socketPath(flags.socket), 'upcall/set-flow-limit', { limit: Number(args.limit) });
    if (flags.json) this.printJson(r);
    else this.log(`set flow_limit to ${r.limit}`);
  }
}
