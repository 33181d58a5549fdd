/** Frames, keys and waiting for the datapath tests (packages/dpif/test and test/datapath). */
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT, extractFlow } from '@tsvs/packet';

export interface UdpSpec {
  srcMac?: readonly number[];
  dstMac?: readonly number[];
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  /** Frame length (>= 42). Default 64. */
  len?: number;
  /** IP protocol (17 UDP, 6 TCP: then a 20-byte TCP header with `tcpFlags`). */
  proto?: number;
  tcpFlags?: number;
}

/** An Ethernet/IPv4/UDP (or TCP) frame with a valid IPv4 header checksum and L4 checksum 0 (UDP: none). */
export function ipFrame(s: UdpSpec = {}): Uint8Array {
  const len = s.len ?? 64;
  const proto = s.proto ?? 17;
  const f = new Uint8Array(len);
  f.set(s.dstMac ?? [0x02, 0, 0, 0, 0, 0x02], 0);
  f.set(s.srcMac ?? [0x02, 0, 0, 0, 0, 0x01], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const dv = new DataView(f.buffer);
  const ipLen = len - 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 255, 0, 0, 0x40, 0, 64, proto, 0, 0], 14);
  dv.setUint32(26, (s.src ?? 0x0a000001) >>> 0);
  dv.setUint32(30, (s.dst ?? 0x0a000002) >>> 0);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += dv.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  dv.setUint16(24, ~sum & 0xffff);
  dv.setUint16(34, s.sport ?? 1000);
  dv.setUint16(36, s.dport ?? 53);
  if (proto === 6) {
    f[46] = 5 << 4;
    f[47] = (s.tcpFlags ?? 0x10) & 0xff;
  } else dv.setUint16(38, ipLen - 20);
  return f;
}

/** The flow key OVS would extract from `frame` received on `inPort`. */
export function keyOf(frame: Uint8Array, inPort: number): Uint32Array {
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(frame, 0, frame.length, inPort, key, 0);
  return key;
}

/** A mask matching in_port and dl_type exactly, plus `words` (index → mask bits, default all ones). */
export function maskOf(words: Record<number, number> = {}): Uint32Array {
  const mask = new Uint32Array(FLOW_WORDS);
  mask[W_IN_PORT] = 0xffffffff;
  mask[W_DL_TYPE] = 0xffff;
  for (const [w, m] of Object.entries(words)) mask[Number(w)] = m >>> 0;
  return mask;
}

/** Polls `cond` every 2 ms until it is true; throws naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `read()` returns the same JSON twice `quietMs` apart (counters have settled after
 * traffic stopped); throws after `timeoutMs`.
 */
export async function waitQuiet(read: () => unknown, quietMs = 50, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let prev = JSON.stringify(read());
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const cur = JSON.stringify(read());
    if (cur === prev) return;
    if (Date.now() > end) throw new Error(`counters still changing after ${timeoutMs} ms`);
    prev = cur;
  }
}

/** The packet counters of `Datapath.totals()` (not the time and iteration counters, which run on). */
export function packetCounters(t: Record<string, number>): number[] {
  return [t.recv!, t.emc_hit!, t.masked_hit!, t.miss!, t.lost!, t.malformed!, t.sent_pkts!, t.tx_dropped!, t.action_upcall!, t.action_lost!];
}
