/**
 * The upcall area: one fixed-size upcall record per packet buffer of the pool, in one
 * SharedArrayBuffer. An upcall queue carries only buffer ids; everything else about the upcall
 * sits in the record of its buffer.
 *
 * Ownership follows the buffer: a buffer id belongs to one thread at a time (packages/shm
 * PacketPool), so its record does too. The producer (a PMD, or the control thread's execute)
 * writes the record with plain stores, then pushes the id on an SpscRing; the ring's
 * `Atomics.store(tail)` publishes the record together with the frame bytes, and the reader sees
 * both after its `Atomics.load(tail)`.
 *
 * Record layout (Int32 words; record of buffer b at word b * UPCALL_WORDS, 416 bytes each):
 * | word    | name      | contents                                                           |
 * |---------|-----------|--------------------------------------------------------------------|
 * | 0       | U_TYPE    | DPIF_UC_MISS (1) or DPIF_UC_ACTION (2)                              |
 * | 1       | U_IN_PORT | odp port the packet came in on                                      |
 * | 2       | U_PID     | ACTION: the userspace action's pid (u32); MISS: 0                   |
 * | 3       | U_UD_LEN  | ACTION: userdata length in bytes (0..248), -1 without userdata; MISS: -1 |
 * | 4..39   | U_KEY     | the flow key as extracted on receive (FLOW_WORDS words)             |
 * | 40..101 | U_UD      | userdata bytes (byte i at byte offset U_UD * 4 + i of the record)  |
 * | 102,103 | U_TIME    | Float64 (record byte 408, 8-aligned): enqueue time, ms of the datapath clock |
 *
 * Enqueue time (U_TIME): milliseconds since the epoch in the datapath clock (pmd/dp-clock.ts:
 * `performance.timeOrigin + performance.now()`, the same scale as `dpNowMs()` in any thread),
 * fractional. A PMD stamps its loop time, which follows the shared clock thread's tick (1 ms by
 * default) and is a real clock reading right after the PMD wakes: the stamp is at most one tick
 * earlier than the push, so a latency measured from it is an upper bound within one tick. 0 means
 * not stamped (the control thread's `execute` queues ACTION upcalls without a time).
 */
import { FLOW_WORDS } from '@tsvs/packet';

export const U_TYPE = 0;
export const U_IN_PORT = 1;
export const U_PID = 2;
export const U_UD_LEN = 3;
export const U_KEY = 4;
export const U_UD = U_KEY + FLOW_WORDS;
/** Largest userdata of a userspace action (the action encoding's limit: 255 - 7 bytes). */
export const UPCALL_USERDATA_MAX = 248;
/** Int32 words per record. */
export const UPCALL_WORDS = 104;
/** Bytes per record. */
export const UPCALL_BYTES = UPCALL_WORDS * 4;
/** Float64 elements per record (records are 8-byte aligned: 416 = 52 * 8). */
export const UPCALL_F64 = UPCALL_BYTES / 8;
/** Float64 index, within a record, of the enqueue time (Int32 words 102..103). */
export const U_TIME_F64 = 51;

/** Views over an upcall area; attach one per thread. */
export class UpcallArea {
  readonly sab: SharedArrayBuffer;
  readonly nBufs: number;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly bytes: Uint8Array;
  readonly f64: Float64Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.nBufs = Math.floor(sab.byteLength / UPCALL_BYTES);
    this.i32 = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.bytes = new Uint8Array(sab);
    this.f64 = new Float64Array(sab, 0, this.nBufs * UPCALL_F64);
  }

  /** An area for a pool of `nBufs` buffers. */
  static create(nBufs: number): UpcallArea {
    return new UpcallArea(new SharedArrayBuffer(nBufs * UPCALL_BYTES));
  }

  static attach(sab: SharedArrayBuffer): UpcallArea {
    return new UpcallArea(sab);
  }

  /**
   * Writes a MISS record for buffer `buf` from the key at `keys[keyBase..]`, stamped with the
   * enqueue time `times[ti]` (ms, datapath clock; passed as an array element so that no double is
   * boxed on the PMD's path). Allocates nothing.
   */
  writeMiss(buf: number, inPort: number, keys: Uint32Array, keyBase: number, times: Float64Array, ti: number): void {
    const r = buf * UPCALL_WORDS;
    const w = this.i32, u = this.u32;
    this.f64[buf * UPCALL_F64 + U_TIME_F64] = times[ti]!;
    w[r + U_TYPE] = 1;
    w[r + U_IN_PORT] = inPort;
    w[r + U_PID] = 0;
    w[r + U_UD_LEN] = -1;
    const k = r + U_KEY;
    for (let i = 0; i < FLOW_WORDS; i++) u[k + i] = keys[keyBase + i]!;
  }

  /**
   * Writes an ACTION record: pid, userdata `ud[udOff, udOff+udLen)` (udLen -1: none; longer than
   * UPCALL_USERDATA_MAX is cut) and the key at `keys[keyBase..]`; the enqueue time `times[ti]`
   * (ms, datapath clock), 0 (not stamped) without `times`. Allocates nothing.
   */
  writeAction(
    buf: number, inPort: number, keys: Uint32Array, keyBase: number, pid: number,
    ud: Uint8Array, udOff: number, udLen: number, times?: Float64Array, ti = 0,
  ): void {
    const r = buf * UPCALL_WORDS;
    const w = this.i32, u = this.u32;
    const n = udLen > UPCALL_USERDATA_MAX ? UPCALL_USERDATA_MAX : udLen;
    this.f64[buf * UPCALL_F64 + U_TIME_F64] = times === undefined ? 0 : times[ti]!;
    w[r + U_TYPE] = 2;
    w[r + U_IN_PORT] = inPort;
    u[r + U_PID] = pid >>> 0;
    w[r + U_UD_LEN] = n;
    const k = r + U_KEY;
    for (let i = 0; i < FLOW_WORDS; i++) u[k + i] = keys[keyBase + i]!;
    const b = this.bytes, d = (r + U_UD) * 4;
    for (let i = 0; i < n; i++) b[d + i] = ud[udOff + i]!;
  }

  type(buf: number): number {
    return this.i32[buf * UPCALL_WORDS + U_TYPE]!;
  }

  inPort(buf: number): number {
    return this.i32[buf * UPCALL_WORDS + U_IN_PORT]!;
  }

  /** Enqueue time of buffer `buf`'s upcall: ms of the datapath clock, 0 when not stamped (see above). */
  enqueueTime(buf: number): number {
    return this.f64[buf * UPCALL_F64 + U_TIME_F64]!;
  }

  pid(buf: number): number {
    return this.u32[buf * UPCALL_WORDS + U_PID]!;
  }

  /** Index into `u32` of buffer `buf`'s key (FLOW_WORDS words). */
  keyBase(buf: number): number {
    return buf * UPCALL_WORDS + U_KEY;
  }

  /** Userdata length, -1 when none. */
  userdataLength(buf: number): number {
    return this.i32[buf * UPCALL_WORDS + U_UD_LEN]!;
  }

  /** Byte offset into `bytes` of buffer `buf`'s userdata. */
  userdataOffset(buf: number): number {
    return (buf * UPCALL_WORDS + U_UD) * 4;
  }
}
