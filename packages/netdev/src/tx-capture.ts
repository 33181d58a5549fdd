import { PcapWriter } from '@tsvs/capture';
import type { PacketPool } from '@tsvs/shm';
import { NetdevError } from './netdev.js';

/**
 * Starts (truncates) the capture file a port transmits into: a classic pcap header, Ethernet link
 * type. Done once by the port's creator; senders in any thread then append with `TxCapture`.
 * Throws NetdevError naming the path if it cannot be created.
 */
export function startTxCapture(port: string, path: string): void {
  try {
    new PcapWriter(path, { append: false }).close();
  } catch (e) {
    throw new NetdevError(`${port}: cannot create tx_pcap '${path}': ${(e as Error).message}`);
  }
}

/**
 * One thread's appender to a port's tx capture. Each `writeBatch` ends in one write(2) on a file
 * opened O_APPEND, so batches from several threads interleave whole (Linux serializes appends to a
 * regular file) and the file is readable after every batch, like OVS's dummy tx_pcap.
 */
export class TxCapture {
  private w: PcapWriter | null = null;

  constructor(private readonly path: string) {}

  /** Appends the frames of buffers `ids[0..n)`, timestamped now. Returns how many could not be written (0 normally). */
  writeBatch(pool: PacketPool, ids: Uint32Array, n: number): number {
    try {
      this.w ??= new PcapWriter(this.path, { append: true, bufferSize: 64 * 1024 });
      const ms = Date.now();
      const sec = Math.floor(ms / 1000), usec = (ms % 1000) * 1000;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        this.w.writeRange(pool.data, pool.frameOffset(id), pool.frameLen(id), sec, usec);
      }
      this.w.flush();
      return 0;
    } catch {
      return n;
    }
  }

  close(): void {
    try {
      this.w?.close();
    } catch {
      // Nothing useful to do when closing a capture fails at shutdown.
    }
    this.w = null;
  }
}
