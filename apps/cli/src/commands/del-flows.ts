import { Args, Flags } from '@oclif/core';
import { DataCommand } from '../base-command.js';

export default class DelFlows extends DataCommand {
  static override description = `Delete OpenFlow rules (ovs-ofctl del-flows): all of them, or those at least as specific as MATCH, or with --strict the one with exactly MATCH and its priority. Their datapath flows are deleted within one revalidation round. The rules are saved in the config.`;

  static override examples = [
    '<%= config.bin %> del-flows',
    "<%= config.bin %> del-flows 'in_port=1'",
    "<%= config.bin %> del-flows --strict 'priority=100,in_port=1'",
  ];

  static override args = {
    match: Args.string({ description: 'MATCH (ovs-ofctl syntax); none: every rule' }),
  };

  static override flags = {
    strict: Flags.boolean({ description: 'exact match and priority' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DelFlows);
    const r = await this.rpc(this.socketPath(flags.socket), 'ofctl/del-flows', { ...(args.match !== undefined ? { match: args.match } : {}), strict: flags.strict });
    if (flags.json) this.printJson(r);
  }
}
