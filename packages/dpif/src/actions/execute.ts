/**
 * The datapath action executor (OVS lib/odp-execute.c + lib/packets.c semantics) for packets
 * held in a buffer pool, allocation-free per packet.
 *
 * Packet register: a packet is described by {@link PKT_WORDS} Int32 words at `pkt[base..]`
 * | word | name     | meaning                                                                   |
 * |------|----------|---------------------------------------------------------------------------|
 * | 0    | PKT_BUF  | buffer id in the pool                                                     |
 * | 1    | PKT_OFF  | byte offset of the frame's first byte in `pool.bytes`                     |
 * | 2    | PKT_LEN  | frame length in bytes                                                     |
 * | 3    | PKT_L2_5 | offset of the first MPLS label from the frame start, or OFS_NONE (-1)      |
 * | 4    | PKT_L3   | offset of the network header, OFS_NONE, or OFS_UNKNOWN (-2): then l2_5,   |
 * |      |          | l3 and l4 are computed (extractFlow) when an action first needs them       |
 * | 5    | PKT_L4   | offset of the transport header, or OFS_NONE                               |
 * Words 3..5 are exactly what `extractFlow(frame, off, len, inPort, key, keyBase, pkt, base + 3)`
 * writes (OVS dp_packet l2_5_ofs/l3_ofs/l4_ofs), so the PMD extracts straight into the register.
 * The executor keeps the register current: push_vlan/pop_vlan move PKT_OFF, PKT_LEN and the
 * offsets, and a clone moves PKT_BUF/PKT_OFF. It writes no pool metadata (e.g. the shm pool's
 * M_OFF/M_LEN): output entries carry each frame's offset and length.
 *
 * Semantics (OVS): actions apply in order; `output` sends the packet as it is at that point.
 * Outputs are recorded in an {@link OdpOutputBatch} as (port, buf, off, len) without copying, so
 * the PMD can batch per port. A packet output several times with no change in between is the
 * same buffer in several entries (the tx side must release it after the last one). Only when a
 * modifying action follows an output is the packet cloned into a fresh pool buffer first: earlier
 * outputs keep the old buffer, later actions work on the clone. Actions after the last output or
 * userspace action are skipped (the encoding's live end). `userspace` hands the packet as it is
 * to the caller's {@link OdpUpcallSink} synchronously (ACTION upcall; the sink copies).
 *
 * Checksums: set actions update the IPv4 header checksum and the TCP/UDP (and, for IPv6
 * addresses, ICMPv6) checksum incrementally per RFC 1624, pseudo-header included; a UDP
 * checksum of 0 (none) stays 0 and a result of 0 is written as 0xffff. Bytes are identical to
 * OVS 3.1's userspace datapath except in three cases where OVS leaves a wrong checksum or
 * rewrites payload, where we do what the Linux kernel datapath does (net/openvswitch/actions.c):
 *  - IPv4 later fragments: OVS edits the "L4 checksum" bytes inside the fragment payload when an
 *    address changes; we leave the payload alone (there is no L4 header in a later fragment).
 *  - IPv6 atomic fragments (fragment header, offset 0, M=0): OVS skips the L4 checksum update
 *    on an address change; we update it (the L4 header is there).
 *  - IPv6 with a routing header with segments left: OVS also skips the update for a source
 *    address change; we update it (only the destination is not in the pseudo-header then).
 * Set actions apply only where the header is present and sane (OVS relies on the megaflow
 * match for that; a bad blob or mismatched packet must not corrupt anything here).
 *
 * Never throws on packet or action bytes; failures are counted and reported in the return value.
 */
import {
  ODP_ACTIONS_HDR,
  ODP_KEY_ETH,
  ODP_KEY_IPV4,
  ODP_KEY_IPV6,
  ODP_KEY_SIZE,
  ODP_KEY_TCP,
  ODP_KEY_UDP,
  ODP_OUTPUT,
  ODP_POP_VLAN,
  ODP_PUSH_VLAN,
  ODP_SET,
  ODP_SET_MASKED,
  ODP_USERSPACE,
  OA_LIVE_END,
  OA_LEN,
  USERSPACE_F_USERDATA,
} from './encoding.js';
import { extractFlow, FLOW_WORDS, recalcCsum16, recalcCsum128 } from '@tsvs/packet';

/** Offset is absent (OVS: UINT16_MAX). */
export const OFS_NONE = -1;
/** Offsets not computed yet: the executor runs flow extraction when an action first needs them. */
export const OFS_UNKNOWN = -2;

export const PKT_BUF = 0;
export const PKT_OFF = 1;
export const PKT_LEN = 2;
export const PKT_L2_5 = 3;
export const PKT_L3 = 4;
export const PKT_L4 = 5;
/** Int32 words per packet register. */
export const PKT_WORDS = 6;

/** Return bit: the packet's final buffer (pkt[PKT_BUF]) is referenced by an output entry; without it the caller releases that buffer (the packet was dropped or only went to userspace). */
export const EXEC_KEEP = 1;
/** Return bit: an action could not be carried out (pool empty for a clone, no room to push a VLAN header, output batch full); the remaining actions were skipped and counted. */
export const EXEC_FAILED = 2;

/** Headroom in bytes left in front of a cloned frame (room for VLAN pushes without moving it). */
export const CLONE_HEADROOM = 64;

/**
 * The packet buffers the executor works in. The shm packet pool provides it; {@link HeapBufferPool}
 * is a simple implementation for handlers and tests.
 */
export interface OdpBufferPool {
  /** One byte view over every buffer (e.g. over the pool's SharedArrayBuffer). */
  readonly bytes: Uint8Array;
  /** Size of each buffer in bytes. */
  readonly bufferSize: number;
  /** Takes a free buffer; returns its id, or -1 when the pool is empty. */
  alloc(): number;
  /** Byte offset of buffer `buf` in `bytes`. */
  start(buf: number): number;
}

/** Receiver of ACTION upcalls produced by `userspace` actions. */
export interface OdpUpcallSink {
  /**
   * Called synchronously for each `userspace` action with the packet as it is at that point
   * (`bytes[off, off+len)`), the action's pid and its userdata (`actions[udOff, udOff+udLen)`,
   * udLen -1 when the action has none). Copy what you keep before returning. Return false when
   * the upcall could not be queued (counted in `upcallDrops`).
   */
  actionUpcall(bytes: Uint8Array, off: number, len: number, pid: number, actions: Uint8Array, udOff: number, udLen: number): boolean;
}

/**
 * Output entries produced by the executor: entry i sends `len[i]` bytes at `off[i]` of the pool
 * (buffer `buf[i]`) to odp port `port[i]`. Preallocated; `count` entries are valid.
 */
export class OdpOutputBatch {
  readonly port: Uint32Array;
  readonly buf: Int32Array;
  readonly off: Int32Array;
  readonly len: Int32Array;
  count = 0;
  constructor(readonly capacity: number) {
    this.port = new Uint32Array(capacity);
    this.buf = new Int32Array(capacity);
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
  }
  reset(): void {
    this.count = 0;
  }
}

/** A pool of `count` buffers of `bufferSize` bytes in one (Shared)ArrayBuffer, with a free stack. */
export class HeapBufferPool implements OdpBufferPool {
  readonly bytes: Uint8Array;
  private readonly free: Int32Array;
  private nFree: number;
  constructor(readonly count: number, readonly bufferSize: number, shared = false) {
    const size = count * bufferSize;
    this.bytes = new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
    this.free = new Int32Array(count);
    for (let i = 0; i < count; i++) this.free[i] = count - 1 - i;
    this.nFree = count;
  }
  alloc(): number {
    return this.nFree > 0 ? this.free[--this.nFree]! : -1;
  }
  /** Returns a buffer to the pool (the caller guarantees it is no longer referenced). */
  release(buf: number): void {
    this.free[this.nFree++] = buf;
  }
  start(buf: number): number {
    return buf * this.bufferSize;
  }
  get available(): number {
    return this.nFree;
  }
}

function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;

/**
 * Executes encoded action lists on packets. One instance per thread (it has scratch state);
 * construct once, reuse for every packet.
 */
export class OdpExecutor {
  /** Packets cloned because a modification followed an output. */
  clones = 0;
  /** Clones that failed because the pool was empty (packet dropped from there on). */
  cloneFailures = 0;
  /** push_vlan with neither headroom nor tailroom in the buffer (packet dropped from there on). */
  pushFailures = 0;
  /** Outputs that did not fit in the output batch (packet dropped from there on). */
  emitOverflows = 0;
  /** userspace actions whose upcall was not queued (no sink, or the sink refused). */
  upcallDrops = 0;

  private readonly bytes: Uint8Array;
  private readonly scratch = new Uint8Array(16);
  private readonly key = new Uint32Array(FLOW_WORDS);
  // Results of walkIpv6(): terminal protocol (-1 unknown), later fragment, routing header with segments left.
  private v6proto = -1;
  private v6later = false;
  private v6rh = false;

  constructor(
    private readonly pool: OdpBufferPool,
    private readonly upcalls: OdpUpcallSink | null = null,
  ) {
    this.bytes = pool.bytes;
  }

  /**
   * Runs the encoded action list at `actions[aoff..]` on the packet whose register is at
   * `pkt[pbase..]`, appending outputs to `out`. Returns EXEC_KEEP and/or EXEC_FAILED bits.
   */
  execute(actions: Uint8Array, aoff: number, pkt: Int32Array, pbase: number, out: OdpOutputBatch): number {
    const a = actions;
    const total = rd16(a, aoff + OA_LEN);
    let end = rd16(a, aoff + OA_LIVE_END);
    if (end > total) end = total;
    let emitted = false;
    let p = ODP_ACTIONS_HDR;
    while (p + 2 <= end) {
      const q = aoff + p;
      const t = a[q]!;
      const l = a[q + 1]!;
      if (l < 2 || p + l > end) break;
      p += l;
      if (t === ODP_OUTPUT) {
        if (l !== 6) continue;
        const i = out.count;
        if (i >= out.capacity) {
          this.emitOverflows++;
          return emitted ? EXEC_KEEP | EXEC_FAILED : EXEC_FAILED;
        }
        out.port[i] = (a[q + 2]! << 24) | (a[q + 3]! << 16) | (a[q + 4]! << 8) | a[q + 5]!;
        out.buf[i] = pkt[pbase + PKT_BUF]!;
        out.off[i] = pkt[pbase + PKT_OFF]!;
        out.len[i] = pkt[pbase + PKT_LEN]!;
        out.count = i + 1;
        emitted = true;
      } else if (t === ODP_USERSPACE) {
        if (l < 7) continue;
        const has = (a[q + 6]! & USERSPACE_F_USERDATA) !== 0;
        const sink = this.upcalls;
        if (
          sink === null ||
          !sink.actionUpcall(this.bytes, pkt[pbase + PKT_OFF]!, pkt[pbase + PKT_LEN]!, rd32(a, q + 2), a, q + 7, has ? l - 7 : -1)
        ) {
          this.upcallDrops++;
        }
      } else if (t === ODP_PUSH_VLAN) {
        if (l !== 6 || pkt[pbase + PKT_LEN]! < 12) continue;
        if (pkt[pbase + PKT_L3] === OFS_UNKNOWN) this.findLayers(pkt, pbase);
        if (emitted) {
          if (!this.clone(pkt, pbase)) return EXEC_KEEP | EXEC_FAILED;
          emitted = false;
        }
        if (!this.pushVlan(pkt, pbase, rd16(a, q + 2), rd16(a, q + 4) & ~0x1000)) return EXEC_FAILED;
      } else if (t === ODP_POP_VLAN) {
        const off = pkt[pbase + PKT_OFF]!;
        const len = pkt[pbase + PKT_LEN]!;
        const tpid = len >= 18 ? rd16(this.bytes, off + 12) : 0;
        if (tpid !== 0x8100 && tpid !== 0x88a8) continue;
        if (pkt[pbase + PKT_L3] === OFS_UNKNOWN) this.findLayers(pkt, pbase);
        if (emitted) {
          if (!this.clone(pkt, pbase)) return EXEC_KEEP | EXEC_FAILED;
          emitted = false;
        }
        this.popVlan(pkt, pbase);
      } else if (t === ODP_SET || t === ODP_SET_MASKED) {
        if (l < 3) continue;
        const key = a[q + 2]!;
        const k = ODP_KEY_SIZE[key] ?? 0;
        if (k === 0 || l !== (t === ODP_SET ? 3 + k : 3 + 2 * k)) continue;
        if (pkt[pbase + PKT_L3] === OFS_UNKNOWN) this.findLayers(pkt, pbase);
        if (!this.setApplies(key, pkt, pbase)) continue;
        if (emitted) {
          if (!this.clone(pkt, pbase)) return EXEC_KEEP | EXEC_FAILED;
          emitted = false;
        }
        const v = q + 3;
        const m = t === ODP_SET ? -1 : q + 3 + k;
        switch (key) {
          case ODP_KEY_ETH:
            this.setEth(a, v, m, pkt[pbase + PKT_OFF]!);
            break;
          case ODP_KEY_IPV4:
            this.setIpv4(a, v, m, pkt, pbase);
            break;
          case ODP_KEY_IPV6:
            this.setIpv6(a, v, m, pkt, pbase);
            break;
          default:
            this.setPorts(key, a, v, m, pkt, pbase);
        }
      }
    }
    return emitted ? EXEC_KEEP : 0;
  }

  private findLayers(pkt: Int32Array, pbase: number): void {
    pkt[pbase + PKT_L2_5] = OFS_NONE;
    pkt[pbase + PKT_L3] = OFS_NONE;
    pkt[pbase + PKT_L4] = OFS_NONE;
    extractFlow(this.bytes, pkt[pbase + PKT_OFF]!, pkt[pbase + PKT_LEN]!, 0, this.key, 0, pkt, pbase + PKT_L2_5);
  }

  private clone(pkt: Int32Array, pbase: number): boolean {
    const nb = this.pool.alloc();
    if (nb < 0) {
      this.cloneFailures++;
      return false;
    }
    const off = pkt[pbase + PKT_OFF]!;
    const len = pkt[pbase + PKT_LEN]!;
    let head = this.pool.bufferSize - len;
    if (head > CLONE_HEADROOM) head = CLONE_HEADROOM;
    if (head < 0) head = 0;
    const dst = this.pool.start(nb) + head;
    this.bytes.copyWithin(dst, off, off + len);
    pkt[pbase + PKT_BUF] = nb;
    pkt[pbase + PKT_OFF] = dst;
    this.clones++;
    return true;
  }

  /** eth_push_vlan: insert tpid + tci after the MAC addresses, into headroom if there is any. */
  private pushVlan(pkt: Int32Array, pbase: number, tpid: number, tci: number): boolean {
    const b = this.bytes;
    const off = pkt[pbase + PKT_OFF]!;
    const len = pkt[pbase + PKT_LEN]!;
    const bufStart = this.pool.start(pkt[pbase + PKT_BUF]!);
    let f: number;
    if (off - 4 >= bufStart) {
      f = off - 4;
      b.copyWithin(f, off, off + 12);
    } else if (off + len + 4 <= bufStart + this.pool.bufferSize) {
      f = off;
      b.copyWithin(off + 16, off + 12, off + len);
    } else {
      this.pushFailures++;
      return false;
    }
    wr16(b, f + 12, tpid);
    wr16(b, f + 14, tci);
    pkt[pbase + PKT_OFF] = f;
    pkt[pbase + PKT_LEN] = len + 4;
    shiftLayers(pkt, pbase, 4);
    return true;
  }

  /** eth_pop_vlan: remove the outer VLAN header (caller checked it is there). */
  private popVlan(pkt: Int32Array, pbase: number): void {
    const off = pkt[pbase + PKT_OFF]!;
    this.bytes.copyWithin(off + 4, off, off + 12);
    pkt[pbase + PKT_OFF] = off + 4;
    pkt[pbase + PKT_LEN] = pkt[pbase + PKT_LEN]! - 4;
    shiftLayers(pkt, pbase, -4);
  }

  /** Ethertype in front of l3 (after VLAN tags / LLC-SNAP), or -1 when l3 is absent or follows MPLS. */
  private dlType(pkt: Int32Array, pbase: number): number {
    const l3 = pkt[pbase + PKT_L3]!;
    if (l3 < 14 || pkt[pbase + PKT_L2_5]! >= 0) return -1;
    return rd16(this.bytes, pkt[pbase + PKT_OFF]! + l3 - 2);
  }

  /** Whether a set of `key` can touch this packet (the header exists and passed OVS's sanity checks). */
  private setApplies(key: number, pkt: Int32Array, pbase: number): boolean {
    if (key === ODP_KEY_ETH) return pkt[pbase + PKT_LEN]! >= 14;
    if (pkt[pbase + PKT_L4]! < 0) return false;
    const dl = this.dlType(pkt, pbase);
    if (key === ODP_KEY_IPV4) return dl === 0x0800;
    if (key === ODP_KEY_IPV6) return dl === 0x86dd;
    // tcp/udp: the transport protocol must match and this must not be a later fragment.
    const want = key === ODP_KEY_TCP ? IPPROTO_TCP : IPPROTO_UDP;
    const nh = pkt[pbase + PKT_OFF]! + pkt[pbase + PKT_L3]!;
    const b = this.bytes;
    if (dl === 0x0800) return b[nh + 9] === want && (rd16(b, nh + 6) & 0x1fff) === 0;
    if (dl === 0x86dd) {
      this.walkIpv6(pkt, pbase);
      return this.v6proto === want && !this.v6later;
    }
    return false;
  }

  private setEth(a: Uint8Array, v: number, m: number, f: number): void {
    const b = this.bytes;
    // ovs_key_ethernet is src then dst; the frame has dst at 0 and src at 6.
    for (let i = 0; i < 6; i++) {
      const ms = m < 0 ? 0xff : a[m + i]!;
      const md = m < 0 ? 0xff : a[m + 6 + i]!;
      b[f + 6 + i] = a[v + i]! | (b[f + 6 + i]! & ~ms);
      b[f + i] = a[v + 6 + i]! | (b[f + i]! & ~md);
    }
  }

  /**
   * odp_set_ipv4 / packet_set_ipv4. Addresses are handled as two 16-bit halves: a 32-bit value
   * passed to a function that is not inlined would be boxed (allocated) by V8.
   */
  private setIpv4(a: Uint8Array, v: number, m: number, pkt: Int32Array, pbase: number): void {
    const b = this.bytes;
    const nh = pkt[pbase + PKT_OFF]! + pkt[pbase + PKT_L3]!;
    for (let w = 0; w < 8; w += 4) {
      const mHi = m < 0 ? 0xffff : rd16(a, m + w);
      const mLo = m < 0 ? 0xffff : rd16(a, m + w + 2);
      if ((mHi | mLo) === 0) continue;
      const field = nh + 12 + w;
      const oHi = rd16(b, field);
      const oLo = rd16(b, field + 2);
      const nHi = (rd16(a, v + w) | (oHi & ~mHi)) & 0xffff;
      const nLo = (rd16(a, v + w + 2) | (oLo & ~mLo)) & 0xffff;
      if (nHi !== oHi || nLo !== oLo) this.setIpv4Addr(pkt, pbase, nh, field, nHi, nLo);
    }
    const mtos = m < 0 ? 0xff : a[m + 9]!;
    if (mtos !== 0) {
      const old = b[nh + 1]!;
      const nw = (a[v + 9]! | (old & ~mtos)) & 0xff;
      if (nw !== old) {
        wr16(b, nh + 10, recalcCsum16(rd16(b, nh + 10), old, nw));
        b[nh + 1] = nw;
      }
    }
    const mttl = m < 0 ? 0xff : a[m + 10]!;
    if (mttl !== 0) {
      const old = b[nh + 8]!;
      const nw = (a[v + 10]! | (old & ~mttl)) & 0xff;
      if (nw !== old) {
        wr16(b, nh + 10, recalcCsum16(rd16(b, nh + 10), old << 8, nw << 8));
        b[nh + 8] = nw;
      }
    }
  }

  /**
   * packet_set_ipv4_addr: the L4 checksum (pseudo-header) then the IP header checksum, then the
   * address at `field` becomes nHi:nLo. Same arithmetic as OVS's recalc_csum32 (two 16-bit steps).
   */
  private setIpv4Addr(pkt: Int32Array, pbase: number, nh: number, field: number, nHi: number, nLo: number): void {
    const b = this.bytes;
    const oHi = rd16(b, field);
    const oLo = rd16(b, field + 2);
    const proto = b[nh + 9]!;
    const later = (rd16(b, nh + 6) & 0x1fff) !== 0;
    if (!later) {
      const l4 = pkt[pbase + PKT_L4]!;
      const l4size = pkt[pbase + PKT_L3]! + rd16(b, nh + 2) - l4;
      const th = pkt[pbase + PKT_OFF]! + l4;
      if (proto === IPPROTO_TCP && l4size >= 20) {
        wr16(b, th + 16, recalcCsum16(recalcCsum16(rd16(b, th + 16), oHi, nHi), oLo, nLo));
      } else if (proto === IPPROTO_UDP && l4size >= 8) {
        const c = rd16(b, th + 6);
        if (c !== 0) {
          const n = recalcCsum16(recalcCsum16(c, oHi, nHi), oLo, nLo);
          wr16(b, th + 6, n === 0 ? 0xffff : n);
        }
      }
    }
    wr16(b, nh + 10, recalcCsum16(recalcCsum16(rd16(b, nh + 10), oHi, nHi), oLo, nLo));
    wr16(b, field, nHi);
    wr16(b, field + 2, nLo);
  }

  /**
   * Walks the IPv6 extension headers between l3 and l4 (packet_rh_present): sets v6proto (the
   * transport protocol, -1 if not reached), v6later (a fragment header with a non-zero offset)
   * and v6rh (a routing header with segments left).
   */
  private walkIpv6(pkt: Int32Array, pbase: number): void {
    const b = this.bytes;
    const l3 = pkt[pbase + PKT_L3]!;
    let p = pkt[pbase + PKT_OFF]! + l3 + 40;
    let rem = pkt[pbase + PKT_L4]! - l3 - 40;
    let proto = b[p - 34]!;
    this.v6later = false;
    this.v6rh = false;
    this.v6proto = -1;
    while (proto === 0 || proto === 43 || proto === 60 || proto === 51 || proto === 44) {
      if (rem < 8) return;
      let len: number;
      if (proto === 51) len = (b[p + 1]! + 2) * 4;
      else if (proto === 44) {
        len = 8;
        if (rd16(b, p + 2) & 0xfff8) this.v6later = true;
      } else {
        len = (b[p + 1]! + 1) * 8;
        if (proto === 43 && b[p + 3]! > 0) this.v6rh = true;
      }
      proto = b[p]!;
      if (rem < len) return;
      rem -= len;
      p += len;
    }
    this.v6proto = proto;
  }

  /** odp_set_ipv6 / packet_set_ipv6. */
  private setIpv6(a: Uint8Array, v: number, m: number, pkt: Int32Array, pbase: number): void {
    const b = this.bytes;
    const l3 = pkt[pbase + PKT_L3]!;
    const nh = pkt[pbase + PKT_OFF]! + l3;
    this.walkIpv6(pkt, pbase);
    const recalc = !this.v6later && this.v6proto >= 0;
    const s = this.scratch;
    for (let w = 0; w < 32; w += 16) {
      let same = true;
      for (let i = 0; i < 16; i++) {
        const mask = m < 0 ? 0xff : a[m + w + i]!;
        const o = b[nh + 8 + w + i]!;
        const n = (a[v + w + i]! | (o & ~mask)) & 0xff;
        s[i] = n;
        if (n !== o) same = false;
      }
      if (same) continue;
      if (recalc && (w === 0 || !this.v6rh)) this.updateCsum128(pkt, pbase, nh, nh + 8 + w);
      for (let i = 0; i < 16; i++) b[nh + 8 + w + i] = s[i]!;
    }
    // Version/traffic class/flow label word, byte by byte (no 32-bit values: see setIpv4).
    const b0 = b[nh]!;
    const b1 = b[nh + 1]!;
    const oldTc = ((b0 & 0x0f) << 4) | (b1 >> 4);
    const oldFl = ((b1 & 0x0f) << 16) | (b[nh + 2]! << 8) | b[nh + 3]!;
    const mtc = m < 0 ? 0xff : a[m + 37]!;
    const mfl = m < 0 ? 0xfffff : ((a[m + 33]! & 0x0f) << 16) | (a[m + 34]! << 8) | a[m + 35]!;
    const vfl = ((a[v + 33]! & 0x0f) << 16) | (a[v + 34]! << 8) | a[v + 35]!;
    const tc = (a[v + 37]! | (oldTc & ~mtc)) & 0xff;
    const fl = (vfl | (oldFl & ~mfl)) & 0xfffff;
    b[nh] = (b0 & 0xf0) | (tc >> 4);
    b[nh + 1] = ((tc & 0x0f) << 4) | (fl >> 16);
    b[nh + 2] = (fl >> 8) & 0xff;
    b[nh + 3] = fl & 0xff;
    const mhl = m < 0 ? 0xff : a[m + 38]!;
    b[nh + 7] = (a[v + 38]! | (b[nh + 7]! & ~mhl)) & 0xff;
  }

  /** packet_update_csum128 for the address at `field` changing to `scratch`. */
  private updateCsum128(pkt: Int32Array, pbase: number, nh: number, field: number): void {
    const b = this.bytes;
    const l4 = pkt[pbase + PKT_L4]!;
    const l4size = pkt[pbase + PKT_L3]! + 40 + rd16(b, nh + 4) - l4;
    const th = pkt[pbase + PKT_OFF]! + l4;
    const proto = this.v6proto;
    if (proto === IPPROTO_TCP && l4size >= 20) {
      wr16(b, th + 16, recalcCsum128(rd16(b, th + 16), b, field, this.scratch, 0));
    } else if (proto === IPPROTO_UDP && l4size >= 8) {
      const c = rd16(b, th + 6);
      if (c !== 0) {
        const n = recalcCsum128(c, b, field, this.scratch, 0);
        wr16(b, th + 6, n === 0 ? 0xffff : n);
      }
    } else if (proto === IPPROTO_ICMPV6 && l4size >= 4) {
      wr16(b, th + 2, recalcCsum128(rd16(b, th + 2), b, field, this.scratch, 0));
    }
  }

  /** odp_set_tcp / odp_set_udp (packet_set_tcp_port / packet_set_udp_port). */
  private setPorts(key: number, a: Uint8Array, v: number, m: number, pkt: Int32Array, pbase: number): void {
    const b = this.bytes;
    const l3 = pkt[pbase + PKT_L3]!;
    const l4 = pkt[pbase + PKT_L4]!;
    const f = pkt[pbase + PKT_OFF]!;
    const nh = f + l3;
    const l3end = this.dlType(pkt, pbase) === 0x0800 ? l3 + rd16(b, nh + 2) : l3 + 40 + rd16(b, nh + 4);
    const l4size = l3end - l4;
    const th = f + l4;
    let csumAt: number;
    if (key === ODP_KEY_TCP) {
      if (l4size < 20) return;
      const hl = (b[th + 12]! >> 4) * 4;
      if (hl < 20 || hl > l4size) return;
      csumAt = th + 16;
    } else {
      if (l4size < 8) return;
      csumAt = th + 6;
    }
    const ms = m < 0 ? 0xffff : rd16(a, m);
    const md = m < 0 ? 0xffff : rd16(a, m + 2);
    const oldS = rd16(b, th);
    const oldD = rd16(b, th + 2);
    const newS = (rd16(a, v) | (oldS & ~ms)) & 0xffff;
    const newD = (rd16(a, v + 2) | (oldD & ~md)) & 0xffff;
    let c = rd16(b, csumAt);
    if (key === ODP_KEY_UDP && c === 0) {
      wr16(b, th, newS);
      wr16(b, th + 2, newD);
      return;
    }
    if (newS !== oldS) {
      c = recalcCsum16(c, oldS, newS);
      wr16(b, th, newS);
    }
    if (newD !== oldD) {
      c = recalcCsum16(c, oldD, newD);
      wr16(b, th + 2, newD);
    }
    if (key === ODP_KEY_UDP && c === 0) c = 0xffff;
    wr16(b, csumAt, c);
  }
}

function shiftLayers(pkt: Int32Array, pbase: number, d: number): void {
  for (let i = PKT_L2_5; i <= PKT_L4; i++) {
    if (pkt[pbase + i]! >= 0) pkt[pbase + i] = pkt[pbase + i]! + d;
  }
}
