/**
 * Control thread ↔ handler thread messages. Requests travel on a dedicated MessagePort that the
 * handler drains synchronously (`receiveMessageOnPort`) between rounds, after the control thread
 * bumps the ctl word and rings the handler's doorbell (so a sleeping handler wakes); every request
 * is answered with its `seq`. Events go to the worker's parentPort, batched per round.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NetdevDescriptor } from '@tsvs/netdev';
import type { PacketPoolDescriptor } from '@tsvs/shm';
import type { UpcallQueueDescriptor } from '@tsvs/dpif';
import type { ReplicaInit, ReplicaUpdate } from '../ofproto/replica.js';
import type { PacketIn } from './packet-in.js';

/** Handler tunables. */
export interface HandlerConfig {
  /** Most upcalls taken from one port per visit (a "turn"). Default 16. */
  quota: number;
  /** Most MISS upcalls per round (OVS UPCALL_MAX_BATCH). Default 64. */
  maxBatch: number;
  /**
   * Most ACTION upcalls per round (taken from the ports' ACTION rings before any miss, processed
   * before the misses; at most 256). Default 64.
   */
  maxActions: number;
  /** Empty rounds before sleeping, as µs of polling. Default 50. */
  idleSpinUs: number;
  /** Longest sleep on the doorbell, ms. Default 1000. */
  maxSleepMs: number;
}

export const DEFAULT_HANDLER_CONFIG: HandlerConfig = {
  quota: 16, maxBatch: 64, maxActions: 64, idleSpinUs: 50, maxSleepMs: 1000,
};

export interface HandlerInit {
  handlerId: number;
  /** Int32 [0]: bumped by the control thread when requests wait on `ctlPort`. */
  ctl: SharedArrayBuffer;
  ctlPort: MessagePort;
  bank: SharedArrayBuffer;
  bellSlot: number;
  pool: PacketPoolDescriptor;
  upcallArea: SharedArrayBuffer;
  flowTable: SharedArrayBuffer;
  ukeys: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  replica: ReplicaInit;
  /** Every datapath port (the handler transmits to any of them). */
  netdevs: Array<{ portNo: number; netdev: NetdevDescriptor }>;
  /** Transmit queue index this handler uses (modulo each port's n_txq). */
  txq: number;
  cfg: HandlerConfig;
}

export type HandlerRequestBody =
  | { op: 'attach'; portNo: number; upcall: UpcallQueueDescriptor }
  | { op: 'detach'; portNo: number }
  | { op: 'netdevAdd'; portNo: number; netdev: NetdevDescriptor }
  | { op: 'netdevDel'; portNo: number }
  | { op: 'update'; u: ReplicaUpdate }
  | { op: 'config'; cfg: HandlerConfig }
  | { op: 'sync' }
  | { op: 'quit' }
  /** Fault injection: the thread throws an uncaught exception and dies. */
  | { op: 'crash' };

export type HandlerRequest = HandlerRequestBody & { seq: number };

export interface HandlerReply {
  seq: number;
  error?: string;
}

/** Stats credits for OpenFlow rules from translated upcall packets (OVS credits them at translation). */
export interface HandlerCredits {
  ids: Int32Array;
  packets: Float64Array;
  bytes: Float64Array;
  /** ms since the epoch. */
  used: number;
}

export type HandlerEvent =
  | { event: 'ready'; handlerId: number; threadId: number }
  | { event: 'fatal'; handlerId: number; message: string }
  | { event: 'packet-in'; handlerId: number; items: PacketIn[] }
  | { event: 'credits'; handlerId: number; credits: HandlerCredits }
  /** The handler changed the MAC table: the control thread should kick the revalidators. */
  | { event: 'kick'; handlerId: number };
