import { DataCommand } from '../../base-command.js';

export default class RevalidatorResume extends DataCommand {
  static override description = 'Start revalidation rounds again after pause (ovs-appctl revalidator/resume).';

  static override examples = ['<%= config.bin %> revalidator resume'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RevalidatorResume);
    const r = await this.rpc(this.socketPath(flags.socket), 'revalidator/resume', {}, 120_000);
    if (flags.json) this.printJson(r);
    else this.log('revalidators resumed');
  }
}
