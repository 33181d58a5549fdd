import { Args } from '@oclif/core';
import { DataCommand } from '../base-command.js';

export default class DelPort extends DataCommand {
  static override description = `Delete a port from the bridge (ovs-vsctl del-port); it is removed from the config.

Its datapath flows are not deleted here: the revalidators remove those that no longer translate (or use \`tsvs dpctl del-flows\`).`;

  static override examples = ['<%= config.bin %> del-port p1', '<%= config.bin %> del-port veth0 --json'];

  static override args = {
    name: Args.string({ description: 'port name', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DelPort);
    const r = await this.rpc(this.socketPath(flags.socket), 'port/del', { name: args.name });
    if (flags.json) this.printJson(r);
    else this.log(`deleted port ${r.name}${r.ofport !== null ? ` (ofport ${r.ofport}${r.odpPort !== null ? `, odp port ${r.odpPort}` : ''})` : ''}`);
  }
}
