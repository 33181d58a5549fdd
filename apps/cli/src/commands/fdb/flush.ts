import { TsvsCommand } from '../../base-command.js';

export default class FdbFlush extends TsvsCommand {
  static override description = 'Forget every learned MAC address (ovs-appctl fdb/flush); flows that forwarded to learned ports are revalidated.';

  static override examples = ['<%= config.bin %> fdb flush'];

  async run(): Promise<void> {
    const { flags } = await this.parse(FdbFlush);
    await this.rpc(this.socketPath(flags.socket), 'fdb/flush');
    this.log('table successfully flushed');
  }
}
