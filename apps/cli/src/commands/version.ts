import { Command } from '@oclif/core';

export default class Version extends Command {
  static override description = 'Print the tsvs version.';
  static override examples = ['<%= config.bin %> version'];

  async run(): Promise<void> {
    this.log(`tsvs ${this.config.version}`);
  }
}
