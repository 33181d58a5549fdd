/**
 * Traffic for end-to-end tests: frames received on a daemon's memory port through the control
 * socket (`netdev/inject`, what `tsvs inject` uses), from this test process, and the daemon's port
 * counters read back (`stats/sample`).
 *
 * `Traffic` sends a burst every `periodMs` until stopped. Frames are UDP/IPv4 from `srcMac(i)`
 * (a new source MAC per frame when `newFlows`: with a rule that matches dl_src, every frame then
 * misses the datapath and needs a handler) or from one MAC (one datapath flow, EMC hits).
 */
import { RpcClient, type StatsSample } from '@tsvs/control';

/** 02:00:00:00:00:01-style MAC of frame number i. */
export function macOf(i: number): string {
  const h = (i >>> 0).toString(16).padStart(8, '0');
  return `0200${h}`;
}

/** A 60-byte UDP/IPv4 frame from MAC `src` (12 hex digits) to 02:ff:ff:ff:ff:01. */
export function udpFrame(src: string, sport = 1000, dport = 2000): string {
  const dst = '02ffffffff01';
  const ip = '4500002e000100004011' + '0000' + '0a000001' + '0a000002';
  const udp = sport.toString(16).padStart(4, '0') + dport.toString(16).padStart(4, '0') + '001a0000';
  const payload = '00'.repeat(18);
  return dst + src + '0800' + ip + udp + payload;
}

export class Traffic {
  queued = 0;
  dropped = 0;
  errors = 0;
  private n = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly client: RpcClient,
    private readonly port: string,
    private readonly opts: { burst: number; periodMs: number; newFlows: boolean; rxqs: number },
  ) {}

  static async start(socket: string, port: string, opts: Partial<{ burst: number; periodMs: number; newFlows: boolean; rxqs: number }> = {}): Promise<Traffic> {
    const client = await RpcClient.connect(socket, { timeoutMs: 30_000 });
    const t = new Traffic(client, port, { burst: 32, periodMs: 10, newFlows: false, rxqs: 1, ...opts });
    t.loop = t.run();
    return t;
  }

  private async run(): Promise<void> {
    let rxq = 0;
    while (!this.stopped) {
      const frames: string[] = [];
      for (let i = 0; i < this.opts.burst; i++) frames.push(udpFrame(this.opts.newFlows ? macOf(++this.n) : macOf(1), 1000 + (i % 16)));
      try {
        const r = await this.client.call('netdev/inject', { port: this.port, frames, rxq });
        this.queued += r.queued;
        this.dropped += r.dropped;
      } catch {
        this.errors++;
      }
      rxq = (rxq + 1) % this.opts.rxqs;
      await new Promise((r) => setTimeout(r, this.opts.periodMs));
    }
  }

  /** Stops sending; resolves once the last request has returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.close();
  }
}

/** Port counters and restarts from `stats/sample`. */
export async function sample(socket: string): Promise<StatsSample> {
  const c = await RpcClient.connect(socket);
  try {
    return await c.call('stats/sample');
  } finally {
    c.close();
  }
}

export function txOf(s: StatsSample, port: string): number {
  return s.ports.find((p) => p.name === port)?.txPackets ?? 0;
}

/**
 * Samples `port`'s tx counter every `everyMs` until `until()` and returns the times (ms, this
 * process's clock) at which it had grown since the previous sample.
 */
export async function watchTx(socket: string, port: string, everyMs: number, until: () => boolean): Promise<{ at: number; tx: number }[]> {
  const c = await RpcClient.connect(socket);
  const out: { at: number; tx: number }[] = [];
  let last = -1;
  try {
    while (!until()) {
      const s = await c.call('stats/sample');
      const tx = txOf(s, port);
      if (tx > last) out.push({ at: Date.now(), tx });
      last = tx;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } finally {
    c.close();
  }
  return out;
}

/** The longest time between two growths of the counter within [from, to] (ms). */
export function longestStall(growth: { at: number }[], from: number, to: number): number {
  let prev = from;
  let worst = 0;
  for (const g of growth) {
    if (g.at < from) continue;
    if (g.at > to) break;
    worst = Math.max(worst, g.at - prev);
    prev = g.at;
  }
  return Math.max(worst, to - prev);
}
