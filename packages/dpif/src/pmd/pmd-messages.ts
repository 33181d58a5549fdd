/**
 * Control messages between the datapath (control thread) and a PMD thread. Never per packet:
 * they carry reconfiguration (ports, rxqs), probes and shutdown.
 *
 * Transport: the control thread posts a message on the PMD's MessagePort, bumps the PMD's control
 * word (Int32 word 0 of `ctl`) and kicks the PMD's doorbell. The PMD loads the control word once
 * per loop iteration and, when it changed, drains its port with `receiveMessageOnPort` (no event
 * loop turn needed: the loop never yields). Each request has a `seq`; the PMD answers every
 * request with a `PmdReply` of the same seq on its parent port, after the change is in effect.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CounterSetDescriptor, PacketPoolDescriptor } from '@tsvs/shm';
import type { NetdevDescriptor } from '@tsvs/netdev';
import type { UpcallQueueDescriptor } from '../upcall/upcall-queue.js';

/** workerData of a PMD thread. */
export interface PmdInit {
  readonly pmdId: number;
  /** The datapath name (for messages). */
  readonly dpName: string;
  readonly flowTable: SharedArrayBuffer;
  readonly pool: PacketPoolDescriptor;
  /** Doorbell bank and this PMD's slot in it. */
  readonly bank: SharedArrayBuffer;
  readonly bellSlot: number;
  /** Int32 control words: [0] control sequence (bumped per posted batch of messages). */
  readonly ctl: SharedArrayBuffer;
  readonly ctlPort: MessagePort;
  /** Per-PMD counter blocks (block pmdId is ours). */
  readonly counters: CounterSetDescriptor;
  /** SchedStats buffer and its rxq capacity. */
  readonly sched: SharedArrayBuffer;
  readonly maxRxqs: number;
  readonly upcallArea: SharedArrayBuffer;
  /** The datapath clock (dp-clock.ts). */
  readonly clock: SharedArrayBuffer;
  /** How long an idle PMD keeps polling before it sleeps on its doorbell (µs). */
  readonly idleSpinUs: number;
  /** Longest sleep without a doorbell ring (ms): housekeeping such as interval rotation. */
  readonly maxSleepMs: number;
  /** pmd-rx-usecs: nap between partial rx bursts of a running stream (µs, 0 = never; pmd-loop.ts). */
  readonly rxUsecs: number;
  /** pmd-idle-nap-usecs: nap of an idle PMD after traffic before it blocks in poll(2) (µs, 0 = never; pmd-loop.ts). */
  readonly idleNapUs: number;
  /**
   * Nice value the PMD thread gives itself at start (setpriority on its own tid, -20..19), or null
   * to keep the process's. Raising it needs CAP_SYS_NICE; without, the thread keeps the process's
   * value (its 'ready' event carries the errno).
   */
  readonly nice: number | null;
  /**
   * EEVDF slice (µs, 0 = the kernel's default) the PMD thread takes with `nice` while it sleeps
   * and wakes for lone packets (PmdLoop.setSchedLevels); ignored when `nice` is null.
   */
  readonly wakeSliceUs: number;
}

export type PmdRequest =
  | { op: 'addPort'; seq: number; portNo: number; netdev: NetdevDescriptor; upcall: UpcallQueueDescriptor }
  | { op: 'delPort'; seq: number; portNo: number }
  | { op: 'addRxq'; seq: number; portNo: number; rxq: number; schedSlot: number }
  | { op: 'delRxq'; seq: number; portNo: number; rxq: number }
  | { op: 'config'; seq: number; idleSpinUs?: number; maxSleepMs?: number; rxUsecs?: number; idleNapUs?: number; lookup?: PmdLookupMode }
  | { op: 'probe'; seq: number }
  | { op: 'quit'; seq: number };

/**
 * How a PMD looks packets up. 'table': EMC then dpcls (the datapath). 'map': a benchmark baseline
 * that replaces the EMC by a JavaScript Map keyed by the packed key (a string of the key's 16-bit
 * halves), falling back to dpcls on a Map miss; it allocates per packet and exists only to compare.
 */
export type PmdLookupMode = 'table' | 'map';

/** Reply to a request. `probe` replies carry the PMD's heap and loop figures. */
export interface PmdReply {
  readonly seq: number;
  readonly error?: string;
  readonly probe?: PmdProbe;
}


/** What `probe` reports (for benchmarks and tests). */
export interface PmdProbe {
  /** V8 heap of the PMD's isolate (v8.getHeapStatistics().used_heap_size), bytes. */
  readonly usedHeap: number;
  /** GCs observed in the PMD thread since it started. */
  readonly gcCount: number;
  readonly rxqs: number;
  readonly ports: number;
}

/** Unsolicited messages from a PMD. */
export type PmdEvent =
  /** `niceErrno`: set when `PmdInit.nice` (and wakeSliceUs) could not be applied (EACCES, EPERM; ENOENT: no addon). */
  | { event: 'ready'; pmdId: number; niceErrno?: string }
  | { event: 'fatal'; pmdId: number; message: string };
