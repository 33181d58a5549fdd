/**
 * dpif, the DataPath InterFace of tsvs (in the spirit of Open vSwitch lib/dpif.h).
 *
 * A "datapath" is a flow-based software switch with no intelligence of its own: it relies on its
 * client (ofproto's handlers and revalidators, or `tsvs dpctl`) to set up flows. Everything above
 * the dpif exists to make the right decisions when talking to it.
 *
 *
 * Overview
 * ========
 *
 * When a datapath "port" receives a packet, the datapath extracts its headers (the "flow key").
 * If the "flow table" holds a flow entry whose match covers the key, the datapath executes the
 * entry's "actions" and adds the packet to the entry's statistics. Otherwise it appends the packet
 * to an "upcall" queue, from which the client reads it, decides, and usually installs a flow so
 * that the next packets of the flow stay in the datapath.
 *
 * In tsvs the datapath is the `Datapath` object on the daemon's control thread plus N PMD worker
 * threads that do all per-packet work. Every structure the PMDs touch lives in SharedArrayBuffers:
 * the packet buffer pool (packages/shm), the flow table (./flow-table), the ports' queues
 * (packages/netdev) and the upcall queues (./upcall).
 *
 *
 * Ports
 * =====
 *
 * A datapath has a set of ports, analogous to the ports of an Ethernet switch. Each has:
 *
 *    - A name, unique within the datapath (the OVS Interface name, e.g. "p1" or "veth0").
 *
 *    - An odp port number, unique within the datapath, 0..MAX_ODP_PORTS-1. It is the identifier
 *      the rest of the interface uses (flow keys' in_port, output actions, upcalls).
 *
 *    - A type naming its provider in packages/netdev ("memory", "pcap-file", "system"), and the
 *      provider's options (OVS `options:key=value`, all strings).
 *
 *    - Receive queues (rxqs), each polled by exactly one PMD thread at a time, and transmit
 *      queues (txqs); PMD p transmits on txq p % n_txq.
 *
 *    - An upcall queue (see "Upcall Queuing and Ordering").
 *
 * Ports are added and deleted at run time. Port 0 is the "local port": it is named after the
 * datapath, exists from the start and cannot be deleted. (For now it is a `memory` port; a later
 * issue makes it a host interface as OVS's "internal" port is.)
 *
 *
 * Flow Table
 * ==========
 *
 * The flow table holds "megaflows". Each flow entry has:
 *
 *    - A match: a flow key (packages/packet/src/flow-layout.ts, FLOW_WORDS 32-bit words) and a
 *      mask of the same layout (bit set = bit matters). in_port is always matched exactly.
 *      Megaflows must not overlap: a packet matches at most one, so there are no priorities.
 *      (Like OpenFlow matches, but without priorities; a TCP connection is two flows, one per
 *      direction.)
 *
 *    - A 128-bit UFID that names the flow in every operation. A put without one gets one
 *      derived from the masked key and mask by a hash keyed with a per-datapath secret.
 *
 *    - Actions (./actions/encoding.ts): the empty list drops; otherwise output(port),
 *      userspace(pid, userdata), push_vlan, pop_vlan and set/masked set of eth, ipv4, ipv6, tcp,
 *      udp fields, with checksums kept valid.
 *
 *    - Statistics: packets, bytes, the time of the last packet (`used`, datapath clock ms, see
 *      `dpNowMs`) and the OR of the TCP flags seen.
 *
 * Operations (OVS dpif_flow_put/_get/_del/_dump and dpif_operate): put with the flags CREATE,
 * MODIFY, ZERO_STATS and PROBE (EEXIST for CREATE on an existing flow, ENOENT for MODIFY of a
 * missing one); get; del, which returns the flow's final statistics in the same operation; dump
 * in batches, terse (UFID and stats) or full (key, mask, actions, stats), consistent while flows
 * change (a flow present for the whole dump is returned exactly once); flush. Flow operations are
 * synchronous and may be issued from any thread that attached the flow table; they never block a
 * PMD (PMDs read without locks, see packages/dpif/README.md).
 *
 *
 * Upcalls
 * =======
 *
 * An upcall tells the client about a packet. There are two kinds:
 *
 *    - MISS (DPIF_UC_MISS): a packet matched no flow.
 *
 *    - ACTION (DPIF_UC_ACTION): a `userspace` action ran; the upcall carries the action's pid and
 *      userdata.
 *
 * An upcall carries the whole packet (in its own pool buffer: the reader owns the buffer and must
 * free it or hand it to `execute`), the packet's flow key as extracted on receive (in_port set),
 * the in_port, and the type. After the client has read an upcall, the datapath keeps nothing of
 * it. The datapath itself never installs a flow in reaction to a miss.
 *
 *
 * Upcall Queuing and Ordering
 * ---------------------------
 *
 * Each port has its own upcall queue, so that a port that produces many misses (a port scan)
 * cannot crowd out the upcalls of the others; readers (handler threads, a later issue) visit the
 * queues of their ports round-robin. Both MISS and ACTION upcalls of a packet go to the queue of
 * the port it came in on (the userspace action's pid is carried, not used for queue selection).
 *
 * A PMD never waits for a reader: when the queue is full the upcall is dropped and counted (the
 * PMD's "miss with failed upcall", the queue's `dropped`). Upcalls of one rxq are delivered in
 * the order its packets arrived; upcalls of different rxqs of a port are not ordered (and, right
 * after an rxq moves to another PMD, its old and new PMD's upcalls are not ordered either).
 *
 * Implementation (./upcall): packages/shm offers single-producer single-consumer rings; its only
 * multi-producer path takes a lock that may sleep, which a PMD must never do. So a port's queue is
 * one SPSC ring per producer (one per PMD id, plus one for the control thread's `execute`), each
 * carrying packet buffer ids; the reader pops them round-robin. The rest of the upcall (type,
 * in_port, pid, userdata, flow key) travels in a per-buffer record of the datapath's upcall area,
 * written by the producer before the push that publishes the buffer id (layout in
 * ./upcall/upcall-area.ts).
 *
 *
 * Packet Format
 * =============
 *
 * Packets are Ethernet frames, from the destination MAC on, without FCS, in pool buffers (a buffer
 * id; bytes at `pool.frameOffset(id)`, length `pool.frameLen(id)`). A VLAN tag is an 802.1Q
 * header in the frame. A frame must be at least 14 bytes long (a whole Ethernet header); shorter
 * frames are counted and dropped on receive. Frames need not be padded to 60 bytes. Packets given
 * to `execute` and packets in upcalls take this form; the datapath keeps checksums valid when its
 * actions change headers and expects received frames to carry valid checksums (no offloads).
 *
 *
 * Threads
 * =======
 *
 * The `Datapath` object lives on one control thread and is not thread-safe: port and PMD
 * reconfiguration are async (they wait for PMDs to acknowledge), flow operations and `execute`
 * are synchronous. PMD threads (./pmd) are worker_threads; each owns its rxqs, its exact-match
 * cache and its statistics block. Upcall readers attach to queues from any thread.
 */
import type { NetdevStats } from '@tsvs/netdev';
import type {
  FlowDump, FlowErrno, FlowInfo, FlowOp, FlowOpResult, FlowPut, FlowPutResult, FlowStats,
} from './flow-table/index.js';
import type { UpcallQueueDescriptor } from './upcall/upcall-queue.js';

/** Odp port numbers are 0..MAX_ODP_PORTS-1 (PMDs map them through a table of this size). */
export const MAX_ODP_PORTS = 1024;
/** The local port's number (OVS ODPP_LOCAL). */
export const ODPP_LOCAL = 0;

/** Upcall types (OVS enum dpif_upcall_type). */
export const DPIF_UC_MISS = 1;
export const DPIF_UC_ACTION = 2;
export type DpifUpcallType = typeof DPIF_UC_MISS | typeof DPIF_UC_ACTION;

/**
 * The datapath clock: milliseconds since the Unix epoch as a double with sub-microsecond
 * resolution (`performance.timeOrigin + performance.now()`), the same in every thread. Flow
 * `used` times are in this clock.
 */
export function dpNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What `portAdd` takes (OVS Interface name, type, options; optionally the wanted port number). */
export interface DpifPortSpec {
  readonly name: string;
  readonly type: string;
  readonly options?: Readonly<Record<string, string>>;
  /** Requested odp port number; default the lowest free number >= 1. */
  readonly portNo?: number;
}

/** A port as `portQuery*` and `portList` return it (OVS struct dpif_port + queue counts). */
export interface DpifPort {
  readonly name: string;
  readonly portNo: number;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq: number;
  readonly nTxq: number;
}

/** One upcall as a control-plane object (allocated; handlers on the fast path read the area directly). */
export interface DpifUpcall {
  readonly type: DpifUpcallType;
  readonly inPort: number;
  /** The packet's buffer id (the reader owns it). */
  readonly buf: number;
  /** A copy of the frame bytes. */
  readonly packet: Uint8Array;
  /** A copy of the flow key (FLOW_WORDS words). */
  readonly key: Uint32Array;
  /** ACTION: the userspace action's pid; MISS: 0. */
  readonly pid: number;
  /** ACTION with userdata: a copy of it; otherwise null. */
  readonly userdata: Uint8Array | null;
}

/** A packet to `execute`: bytes to copy into a fresh buffer, or a buffer the caller owns (handed over). */
export type DpifExecutePacket = Uint8Array | { readonly buf: number };

/** `execute` request (OVS struct dpif_execute). */
export interface DpifExecute {
  readonly packet: DpifExecutePacket;
  /** Encoded datapath actions (./actions/encoding.ts). */
  readonly actions: Uint8Array;
  /** The packet's input port (for its flow key and upcalls); default the local port. */
  readonly inPort?: number;
}

/** `execute` outcome. */
export interface DpifExecuteResult {
  /** 0, or EINVAL (bad frame / actions / in_port), ENOBUFS (no packet buffer). */
  readonly error: 0 | 'EINVAL' | 'ENOBUFS';
  /** Packets handed to ports. */
  readonly sent: number;
  /** ACTION upcalls queued. */
  readonly upcalls: number;
  /** Outputs dropped (no such port, pool empty for a copy) and upcalls dropped (queue full). */
  readonly dropped: number;
}

/** Datapath-wide counters (OVS dpif_dp_stats: `lookups: hit:... missed:... lost:...`, `flows:`). */
export interface DpifStats {
  /** Packets that matched a flow (EMC or megaflow). */
  readonly hit: number;
  /** Packets that matched no flow and were queued as upcalls. */
  readonly missed: number;
  /** Packets that matched no flow and could not be queued (upcall queue full). */
  readonly lost: number;
  /** Live flows. */
  readonly flows: number;
  /** Frames dropped on receive because they are not Ethernet frames (< 14 bytes). */
  readonly malformed: number;
}

/** Rxq to PMD assignment algorithm (OVS `other_config:pmd-rxq-assign`). */
export type RxqAssign = 'roundrobin' | 'cycles' | 'group';

/**
 * The datapath interface. `Datapath` (./datapath) implements it on the control thread.
 *
 * Errors: methods that take strings or numbers from users throw `DpifError` (one line naming the
 * bad token) for unknown ports, names in use, the local port's deletion and bad port specs;
 * flow operations never throw for bad input (they return FlowErrno codes).
 */
export interface Dpif {
  /** The datapath's name (also the local port's name). */
  readonly name: string;

  // ---- ports ----
  /** Adds a port; resolves to its odp port number once PMDs poll it. */
  portAdd(spec: DpifPortSpec): Promise<number>;
  /** Deletes a port (not the local port); resolves once no PMD uses it any more. */
  portDel(portNo: number): Promise<void>;
  portQueryByNumber(portNo: number): DpifPort | null;
  portQueryByName(name: string): DpifPort | null;
  /** Every port, by port number. */
  portList(): DpifPort[];
  /** A port's counters (its provider's netdev_stats). */
  portStats(portNo: number): NetdevStats;

  // ---- flows ----
  flowPut(put: FlowPut): FlowPutResult;
  flowGet(ufid: Uint32Array): { error: 0 | FlowErrno; flow: FlowInfo | null };
  flowDel(ufid: Uint32Array): { error: 0 | FlowErrno; stats: FlowStats };
  /** Deletes every flow; returns how many. */
  flowFlush(): number;
  /** Starts a dump: `next(max)` returns batches, [] at the end. */
  flowDump(opts?: { terse?: boolean }): FlowDump;
  /** A batch of puts, dels and gets in one writer hold (OVS dpif_operate). */
  operate(ops: readonly FlowOp[]): FlowOpResult[];

  // ---- packets ----
  /** Runs `actions` on a packet (OVS dpif_execute). Never throws for bad input. */
  execute(req: DpifExecute): DpifExecuteResult;

  // ---- upcalls ----
  /** The serializable descriptor of a port's upcall queue: `UpcallReader.attach` it in any thread. */
  upcallQueue(portNo: number): UpcallQueueDescriptor;

  // ---- PMD threads ----
  /** Number of PMD threads. */
  readonly pmdCount: number;
  /** Changes the number of PMD threads (1..maxPmds) and reassigns rxqs. */
  setPmdCount(n: number): Promise<void>;
  /** Datapath-wide lookup counters. */
  stats(): DpifStats;

  close(): Promise<void>;
}

/** A bad request to the datapath (unknown port, name in use, local port deletion...). One line. */
export class DpifError extends Error {
  override readonly name = 'DpifError';
  constructor(message: string, readonly errno: 'EINVAL' | 'ENOENT' | 'EEXIST' | 'EBUSY' | 'EFBIG' = 'EINVAL') {
    super(message);
  }
}
