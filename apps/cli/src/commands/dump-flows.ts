import { Args, Flags } from '@oclif/core';
import { DataCommand } from '../base-command.js';

export default class DumpFlows extends DataCommand {
  static override description = `Print the OpenFlow rules (ovs-ofctl dump-flows), all or those matching MATCH, in OVS's format: cookie, duration, table, n_packets, n_bytes (credited by the revalidators), timeouts, idle_age, match with priority, actions.`;

  static override examples = [
    '<%= config.bin %> dump-flows',
    "<%= config.bin %> dump-flows 'in_port=1'",
    '<%= config.bin %> dump-flows --names --no-stats',
    '<%= config.bin %> dump-flows --json',
  ];

  static override args = {
    match: Args.string({ description: 'MATCH (ovs-ofctl syntax)' }),
  };

  static override flags = {
    names: Flags.boolean({ description: 'port names instead of numbers' }),
    'no-stats': Flags.boolean({ description: 'leave out statistics' }),
    strict: Flags.boolean({ description: 'exact match and priority' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DumpFlows);
    const r = await this.rpc(this.socketPath(flags.socket), 'ofctl/dump-flows', {
      ...(args.match !== undefined ? { match: args.match } : {}), names: flags.names, noStats: flags['no-stats'], strict: flags.strict,
    }, 60_000);
    if (flags.json) this.printJson(r.rules);
    else process.stdout.write(r.text);
  }
}
