import { isProcessAlive } from '@tsvs/control';
import { TsvsCommand } from '../base-command.js';

export default class Stop extends TsvsCommand {
  static override description = `Stop the tsvs daemon gracefully.

The daemon closes its ports, flushes its flows, stops its threads, saves its config and removes its pidfile. Returns once the daemon process has exited (at most 30 s).`;

  static override examples = [
    '<%= config.bin %> stop',
    { description: 'Stop the daemon on another socket', command: '<%= config.bin %> stop --socket /tmp/sw1/tsvs.sock' },
  ];

  async run(): Promise<void> {
    const { flags } = await this.parse(Stop);
    const socket = this.socketPath(flags.socket);
    const { pid } = await this.rpc(socket, 'ping');
    await this.rpc(socket, 'stop');
    const deadline = Date.now() + 30_000;
    while (isProcessAlive(pid)) {
      if (Date.now() > deadline) this.error(`the daemon (pid ${pid}) is still running 30 s after stop`, { exit: 1 });
      await new Promise((r) => setTimeout(r, 50));
    }
    this.log(`tsvs daemon stopped (pid ${pid})`);
  }
}

