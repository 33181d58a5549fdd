import { DataCommand } from '../../base-command.js';

export default class DpctlDelFlows extends DataCommand {
  static override description = 'Delete every datapath flow (ovs-appctl dpctl/del-flows). Packets then miss and go up to the handlers again.';

  static override examples = ['<%= config.bin %> dpctl del-flows'];

  async run(): Promise<void> {
    const { flags } = await this.parse(DpctlDelFlows);
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/del-flows');
    if (flags.json) this.printJson(r);
    else this.log(`deleted ${r.deleted} flow${r.deleted === 1 ? '' : 's'}`);
  }
}
