import { Flags } from '@oclif/core';
import { RpcClient } from '@tsvs/control';
import { DataCommand } from '../base-command.js';

export default class Monitor extends DataCommand {
  static override description = `Print packet-ins as they arrive (like ovs-ofctl monitor BR watch:): packets sent to the controller by CONTROLLER actions (and other userspace actions), with reason, table, cookie, in_port, length and the packet's flow. Runs until Ctrl-C, or --count packet-ins; --json prints one JSON object per packet-in.`;

  static override examples = [
    '<%= config.bin %> monitor',
    { description: 'Send ICMP to the controller and watch it', command: "<%= config.bin %> add-flow 'priority=300,icmp,actions=CONTROLLER' && <%= config.bin %> monitor --count 5" },
    '<%= config.bin %> monitor --json > packet-ins.jsonl',
  ];

  static override flags = {
    count: Flags.integer({ description: 'stop after N packet-ins', min: 1, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Monitor);
    const client = await RpcClient.connect(this.socketPath(flags.socket), { timeoutMs: 30_000 });
    let stop = false;
    const onSignal = (): void => {
      stop = true;
      client.close();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.stdout.on('error', onSignal);
    let seen = 0;
    try {
      let { next } = await client.call('ofproto/packet-ins', {});
      while (!stop && (flags.count === undefined || seen < flags.count)) {
        let r;
        try {
          r = await client.call('ofproto/packet-ins', { after: next, waitMs: 1000 });
        } catch (err) {
          if (stop) break;
          throw err;
        }
        next = r.next;
        if (r.lost > 0) process.stderr.write(`tsvs: ${r.lost} packet-ins were dropped before they could be shown\n`);
        for (const p of r.items) {
          if (flags.count !== undefined && seen >= flags.count) break;
          seen++;
          process.stdout.write(flags.json ? JSON.stringify(p) + '\n' : p.text);
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      client.close();
    }
  }
}
