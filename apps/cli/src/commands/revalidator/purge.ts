import { DataCommand } from '../../base-command.js';

export default class RevalidatorPurge extends DataCommand {
  static override description = 'Delete every datapath flow the revalidators know (ovs-appctl revalidator/purge), crediting their final statistics to the rules.';

  static override examples = ['<%= config.bin %> revalidator purge'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RevalidatorPurge);
    const r = await this.rpc(this.socketPath(flags.socket), 'revalidator/purge', {}, 120_000);
    if (flags.json) this.printJson(r);
    else this.log(`purged ${r.flows} flows`);
  }
}
