/**
 * `netdev/inject`: frames received on a memory port as if from the wire (OVS `netdev-dummy/receive`).
 *
 * The frames are queued on the port's rxq in chunks of half the ring (rxq_size, default 1024), each
 * chunk once the PMD has emptied the ring, so that a large `count` is paced by the datapath instead
 * of overflowing the queue. If the ring stays non-empty for `stallMs` (its PMD is gone and not back),
 * the rest is queued anyway and what does not fit is dropped and counted as the port's rx drops.
 * Frames larger than a packet buffer are refused (rx errors).
 */
import { RpcError, RpcErrorCode } from '@tsvs/control';
import type { Datapath } from '@tsvs/dpif';
import { MemoryNetdev } from '@tsvs/netdev';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function hexFrames(frames: readonly string[]): Uint8Array[] {
  return frames.map((h, i) => {
    const b = Buffer.from(h, 'hex');
    if (b.length < 14) throw new RpcError(RpcErrorCode.BadInput, `frame ${i + 1}: ${b.length} bytes is shorter than an Ethernet header (14)`);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  });
}

export async function injectFrames(
  dp: Datapath,
  odpPort: number,
  portName: string,
  frames: Uint8Array[],
  count: number,
  rxq: number,
  stallMs = 2000,
): Promise<{ queued: number; dropped: number }> {
  const nd = dp.netdev(odpPort);
  if (!(nd instanceof MemoryNetdev)) {
    throw new RpcError(RpcErrorCode.BadInput, `port ${portName} is a ${nd.type} port: frames can be injected into memory ports only`);
  }
  if (rxq >= nd.nRxq) throw new RpcError(RpcErrorCode.BadInput, `port ${portName} has no rxq ${rxq} (n_rxq=${nd.nRxq})`);
  const ringSize = Number(nd.options['rxq_size'] ?? 1024);
  const chunk = Math.max(1, Math.min(512, ringSize >> 1));
  const total = frames.length * count;
  const list: Uint8Array[] = [];
  let queued = 0;
  let sent = 0;
  let waitingSince = Date.now();
  while (sent < total) {
    if (nd.rxqWaitHint(rxq) === 0 && Date.now() - waitingSince < stallMs) {
      await sleep(1);
      continue;
    }
    const n = Math.min(chunk, total - sent);
    list.length = 0;
    for (let i = 0; i < n; i++) list.push(frames[(sent + i) % frames.length]!);
    queued += nd.inject(list, rxq);
    sent += n;
    waitingSince = Date.now();
  }
  return { queued, dropped: total - queued };
}
