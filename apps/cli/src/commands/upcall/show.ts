import { Flags } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class UpcallShow extends DataCommand {
  static override description = `Print the revalidators and datapath flows (ovs-appctl upcall/show): flows current/avg/max/limit, dump duration, UFID use, and per revalidator thread its keys; then tsvs's additions: rounds, flows deleted by reason (idle, revalidation, flow limit, purge), modified, kept, last and longest round. --handlers adds the handler threads and per-port upcall figures.`;

  static override examples = ['<%= config.bin %> upcall show', '<%= config.bin %> upcall show --handlers', '<%= config.bin %> upcall show --json'];

  static override flags = {
    handlers: Flags.boolean({ description: 'add handler threads and per-port upcall counters' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(UpcallShow);
    const r = await this.rpc(this.socketPath(flags.socket), 'upcall/show');
    if (flags.json) {
      this.printJson(r.data);
      return;
    }
    process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
    if (flags.handlers) process.stdout.write(r.handlers);
  }
}
