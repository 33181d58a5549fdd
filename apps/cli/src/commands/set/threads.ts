import { Flags } from '@oclif/core';
import { MAX_THREADS_PER_KIND } from '@tsvs/control';
import { DataCommand, UsageError } from '../../base-command.js';

export default class SetThreads extends DataCommand {
  static override description = `Change the number of PMD, handler and revalidator threads at runtime; saved in the config file.

A kind not given keeps its count; handler and revalidator counts left automatic are recomputed with Open vSwitch's formula from the ones set.`;

  static override examples = [
    '<%= config.bin %> set threads --pmd 2',
    '<%= config.bin %> set threads --handlers 2 --revalidators 1',
  ];

  static override flags = {
    pmd: Flags.integer({ description: 'PMD threads', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
    handlers: Flags.integer({ description: 'handler threads', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
    revalidators: Flags.integer({ description: 'revalidator threads', min: 1, max: MAX_THREADS_PER_KIND, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SetThreads);
    if (flags.pmd === undefined && flags.handlers === undefined && flags.revalidators === undefined) {
      throw new UsageError('give at least one of --pmd, --handlers, --revalidators');
    }
    const r = await this.rpc(
      this.socketPath(flags.socket),
      'threads/set',
      {
        ...(flags.pmd !== undefined ? { pmd: flags.pmd } : {}),
        ...(flags.handlers !== undefined ? { handler: flags.handlers } : {}),
        ...(flags.revalidators !== undefined ? { revalidator: flags.revalidators } : {}),
      },
      60_000,
    );
    if (flags.json) this.printJson(r);
    else this.log(`threads: pmd ${r.threads.pmd}, handler ${r.threads.handler}, revalidator ${r.threads.revalidator}`);
  }
}
