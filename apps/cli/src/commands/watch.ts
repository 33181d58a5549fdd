import { Flags } from '@oclif/core';
import { RpcClient, type StatsSample } from '@tsvs/control';
import { DataCommand } from '../base-command.js';
import { computeView, plainLine } from '../watch/rates.js';

export default class Watch extends DataCommand {
  static override description = `A live dashboard of the switch, refreshed every second: per revalidator thread its keys and dump rate, with the flows deleted and modified per revalidation round; flows current/limit; per PMD thread packets/s, EMC and megaflow hit %, upcalls/s and busy % (processing time over wall time); per port rx, tx and drops per second; thread restarts.

On a terminal it is a full-screen table (q or Ctrl-C quits). When stdout is not a terminal it prints one plain line per refresh instead (--json: one JSON object per refresh), until interrupted or --count refreshes.`;

  static override examples = [
    '<%= config.bin %> watch',
    { description: 'Ten refreshes as plain lines, e.g. into a log', command: '<%= config.bin %> watch --count 10 | tee watch.log' },
    { description: 'JSON lines every 5 s', command: '<%= config.bin %> watch --json --interval 5000 > watch.jsonl' },
  ];

  static override flags = {
    interval: Flags.integer({ description: 'refresh period, ms', min: 100, max: 60_000, default: 1000, helpValue: 'MS' }),
    count: Flags.integer({ description: 'stop after this many refreshes (default: until interrupted)', min: 1, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Watch);
    const socket = this.socketPath(flags.socket);
    const client = await RpcClient.connect(socket);
    let prev: StatsSample | null = null;
    const next = async () => {
      const cur = await client.call('stats/sample');
      const view = computeView(prev, cur);
      prev = cur;
      return view;
    };
    try {
      if (process.stdout.isTTY && process.stdin.isTTY && !flags.json && flags.count === undefined) {
        const { runDashboard } = await import('../watch/dashboard.js');
        const failure = await runDashboard(next, flags.interval, socket);
        if (failure) throw failure;
        return;
      }
      await this.plain(next, flags.interval, flags.count, flags.json);
    } finally {
      client.close();
    }
  }

  /** One line (or JSON object) per refresh; the first after one interval, so it has rates. */
  private async plain(next: () => Promise<ReturnType<typeof computeView>>, intervalMs: number, count: number | undefined, json: boolean): Promise<void> {
    let stop = false;
    const onSignal = (): void => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.stdout.on('error', () => (stop = true)); // reader went away (EPIPE): end quietly
    try {
      await next();
      for (let n = 0; !stop && (count === undefined || n < count); n++) {
        await sleepUnless(intervalMs, () => stop);
        if (stop) break;
        const v = await next();
        process.stdout.write((json ? JSON.stringify(v) : plainLine(v)) + '\n');
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(50, end - Date.now())));
}
