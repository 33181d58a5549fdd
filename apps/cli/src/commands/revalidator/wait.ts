import { DataCommand } from '../../base-command.js';

export default class RevalidatorWait extends DataCommand {
  static override description = 'Return once a whole revalidation round that started after this command has finished (ovs-appctl revalidator/wait).';

  static override examples = ['<%= config.bin %> revalidator wait'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RevalidatorWait);
    const r = await this.rpc(this.socketPath(flags.socket), 'revalidator/wait', {}, 120_000);
    if (flags.json) this.printJson(r);
    else this.log(`revalidation round done (${r.rounds} rounds so far)`);
  }
}
