import { DataCommand } from '../../base-command.js';

export default class RevalidatorPause extends DataCommand {
  static override description = 'Stop starting revalidation rounds (ovs-appctl revalidator/pause): datapath flows then neither age out nor follow rule changes until resume. Returns after the round in progress, if any.';

  static override examples = ['<%= config.bin %> revalidator pause'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RevalidatorPause);
    const r = await this.rpc(this.socketPath(flags.socket), 'revalidator/pause', {}, 120_000);
    if (flags.json) this.printJson(r);
    else this.log('revalidators paused');
  }
}
