import { Args } from '@oclif/core';
import { LOG_LEVELS } from '@tsvs/control';
import { TsvsCommand } from '../../base-command.js';

export default class SetLogLevel extends TsvsCommand {
  static override description = `Change the daemon's log level at runtime (not saved: a restart uses --log-level of \`tsvs start\`).

Levels, most to least verbose: trace, debug, info, warn, error, fatal, silent.`;

  static override examples = ['<%= config.bin %> set log-level debug', '<%= config.bin %> set log-level warn'];

  static override args = {
    level: Args.string({ description: 'new level', required: true, options: [...LOG_LEVELS] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SetLogLevel);
    const r = await this.rpc(this.socketPath(flags.socket), 'log/set-level', { level: args.level as (typeof LOG_LEVELS)[number] });
    this.log(`log level ${r.level} (was ${r.previous})`);
  }
}
