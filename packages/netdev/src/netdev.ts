/**
 * The port provider contract (in the spirit of OVS lib/netdev-provider.h, reduced to what the PMD
 * loop needs). See packages/netdev/README.md for the prose version.
 *
 * Life cycle: the owner (the daemon's main thread, or a test) `createNetdev`s a port with a pool and
 * a doorbell bank; that object works in the creating thread. `descriptor()` gives a structured-
 * cloneable object (SharedArrayBuffers, strings, numbers) that any worker passes to `attachNetdev`
 * to get its own object over the same shared state. Per-thread objects hold per-thread resources
 * (pool cache, capture file handle): `close()` each when its thread is done with the port.
 *
 * Queues: rxq i (0 <= i < nRxq) is polled by exactly one thread at a time (its PMD). A txq may be
 * used by several threads: `send` serializes senders of one txq with a lock, so giving each PMD its
 * own txq (txq = pmd index % nTxq) keeps that lock uncontended.
 */
import { PacketPool } from '@tsvs/shm';
import type { DoorbellBank, PacketPoolDescriptor } from '@tsvs/shm';

/** Per-queue counters. Units: packets, bytes (frame bytes from the Ethernet header, no FCS). */
export interface QueueStats {
  packets: number;
  bytes: number;
  /** Packets lost for lack of room (full queue, no free buffer). */
  drops: number;
  /** Packets that could not be handled (frame larger than a buffer, capture write failure, non-Ethernet record). */
  errors: number;
}

/** Port totals under OVS's netdev_stats names. */
export interface NetdevStats {
  rx_packets: number;
  rx_bytes: number;
  rx_dropped: number;
  rx_errors: number;
  tx_packets: number;
  tx_bytes: number;
  tx_dropped: number;
  tx_errors: number;
}

/** What a port is made from: OVS Interface name, type and options:key=value strings. */
export interface NetdevSpec {
  readonly name: string;
  readonly type: string;
  readonly options?: Readonly<Record<string, string>>;
}

/** Shared resources a port is created with (the datapath's). */
export interface NetdevContext {
  /** The packet buffer pool rx buffers come from and sent buffers go back to. */
  readonly pool: PacketPool;
  /** Doorbells PMDs sleep on; producers of this port's rxqs ring them. Null: no wake-ups. */
  readonly bank?: DoorbellBank | null;
}

/** The serializable form of a port: post it to a worker and `attachNetdev` it there. */
export interface NetdevDescriptor {
  readonly name: string;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq: number;
  readonly nTxq: number;
  readonly pool: PacketPoolDescriptor;
  readonly bank: SharedArrayBuffer | null;
  /** Provider-specific shared state (rings, counters, frames). */
  readonly shared: Readonly<Record<string, unknown>>;
}

/** A port as seen by one thread. */
export interface Netdev {
  readonly name: string;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq: number;
  readonly nTxq: number;

  /** The serializable form of this port. */
  descriptor(): NetdevDescriptor;

  /**
   * Receives up to `max` (default 32) frames from rxq `rxq` into `out[0..n)` as buffer ids of the
   * pool (M_LEN set, M_OFF at the frame, other metadata 0; the caller owns them now). Returns n, 0
   * when nothing is ready. Never blocks, never throws for lack of traffic, buffers or room.
   */
  rxqRecv(rxq: number, out: Uint32Array, max?: number): number;

  /**
   * Transmits `ids[0..n)` on txq `txq % nTxq`. Takes ownership of all n buffers (frees them or
   * hands them on); returns how many were transmitted, the rest are counted as drops.
   */
  send(txq: number, ids: Uint32Array, n: number): number;

  /** Makes the producers of rxq `rxq` ring `slot` of the context's bank (-1: none). No-op for ports without producers. */
  rxqBindDoorbell(rxq: number, slot: number): void;

  /**
   * Milliseconds until rxq `rxq` may have frames without a doorbell ring: 0 = poll again now (for
   * example a generator or a replay that is running), Infinity = only a doorbell will tell.
   * A PMD sleeps for the minimum over its rxqs.
   */
  rxqWaitHint(rxq: number): number;

  /**
   * Whether a poll of rxq `rxq` that finds nothing costs a system call (a TAP's read(), a socket
   * read with recvmmsg), where other rxqs cost a memory load. A busy PMD polls such an rxq less
   * often while it stays empty (packages/dpif pmd-loop.ts). Absent: false.
   */
  rxqPollIsSyscall?(rxq: number): boolean;

  /**
   * Where rxq `rxq`'s frames were received: a stride n > 0 means the kernel received them on CPUs
   * c with c % n === rxq (a system port with fanout=cpu; on a veth, the sender's CPU). 0: anywhere.
   * A PMD sleeps near the sender of its lone packets with it (packages/dpif pmd-loop.ts). Absent: 0.
   */
  rxqCpuStride?(rxq: number): number;

  rxqStats(rxq: number): QueueStats;
  txqStats(txq: number): QueueStats;
  /** Totals over all queues (and, for rx, injections that failed). */
  stats(): NetdevStats;

  /** Releases this thread's resources for the port (flushes capture files, returns cached buffers). */
  close(): void;
}

/** A port type: how to create one and how to attach to one created elsewhere. */
export interface NetdevProvider {
  readonly type: string;
  create(spec: NetdevSpec, ctx: NetdevContext): Netdev;
  attach(desc: NetdevDescriptor, pool: PacketPool): Netdev;
}

const providers = new Map<string, NetdevProvider>();

/** Registers a port type (done by each provider module on import). */
export function registerNetdevProvider(p: NetdevProvider): void {
  providers.set(p.type, p);
}

/** Registered port type names. */
export function netdevTypes(): string[] {
  return [...providers.keys()].sort();
}

/**
 * Creates a port. Throws NetdevError (one line naming the bad token) for an unknown type, an
 * unknown option or a bad option value, and for files a pcap-file port cannot read or create.
 */
export function createNetdev(spec: NetdevSpec, ctx: NetdevContext): Netdev {
  const p = providers.get(spec.type);
  if (!p) throw new NetdevError(`${spec.name}: unknown port type '${spec.type}' (known: ${netdevTypes().join(', ')})`);
  return p.create(spec, ctx);
}

/**
 * Attaches to a port from its descriptor, in any thread. Pass the thread's own PacketPool object
 * (attached once per thread and shared by its ports) or let one be attached for this port.
 */
export function attachNetdev(desc: NetdevDescriptor, pool?: PacketPool): Netdev {
  const p = providers.get(desc.type);
  if (!p) throw new NetdevError(`${desc.name}: unknown port type '${desc.type}'`);
  return p.attach(desc, pool ?? PacketPool.attach(desc.pool));
}

/** A bad port specification or a port that cannot be set up. */
export class NetdevError extends Error {
  override readonly name = 'NetdevError';
}
