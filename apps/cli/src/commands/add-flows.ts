import { readFileSync } from 'node:fs';
import { Args } from '@oclif/core';
import { DataCommand, UsageError } from '../base-command.js';

export default class AddFlows extends DataCommand {
  static override description = `Add the OpenFlow rules of FILE, one per line (ovs-ofctl add-flows); blank lines and lines starting with # are skipped; - reads stdin.

All rules are applied as one change: if any line is bad, none is added (exit 2, the message names the line's token at fault).`;

  static override examples = [
    '<%= config.bin %> add-flows rules.txt',
    "printf 'priority=10,in_port=1,actions=2\\npriority=10,in_port=2,actions=1\\n' | <%= config.bin %> add-flows -",
  ];

  static override args = {
    file: Args.string({ description: 'file with one rule per line, or - for stdin', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AddFlows);
    let text: string;
    try {
      text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
    } catch (err) {
      throw new UsageError(`${args.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const lines = text.split(/\r?\n/);
    const r = await this.rpc(this.socketPath(flags.socket), 'ofctl/add-flows', { flows: lines }, 120_000);
    if (flags.json) this.printJson(r);
  }
}
