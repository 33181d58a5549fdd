import { Args, Flags } from '@oclif/core';
import { DataCommand } from '../base-command.js';

export default class ModFlows extends DataCommand {
  static override description = `Change the actions of the OpenFlow rules that match (ovs-ofctl mod-flows): loosely (every rule at least as specific as MATCH), or with --strict only the rule with exactly this match and priority. Counters and timeouts are kept; datapath flows follow within one revalidation round. The rules are saved in the config.`;

  static override examples = [
    "<%= config.bin %> mod-flows 'in_port=1,actions=output:3'",
    "<%= config.bin %> mod-flows --strict 'priority=100,in_port=1,actions=drop'",
  ];

  static override args = {
    flow: Args.string({ description: 'MATCH,actions=ACTIONS (ovs-ofctl syntax)', required: true }),
  };

  static override flags = {
    strict: Flags.boolean({ description: 'exact match and priority' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModFlows);
    const r = await this.rpc(this.socketPath(flags.socket), 'ofctl/mod-flows', { flow: args.flow, strict: flags.strict });
    if (flags.json) this.printJson(r);
  }
}
