import type { PacketPool } from '@tsvs/shm';
import { M_LEN, META_WORDS } from '@tsvs/shm';

/** A frame to put in a store, with its time relative to the first frame (ns). */
export interface StoredFrame {
  readonly data: Uint8Array;
  readonly tsNs?: number;
}

const MAGIC = 0x66726d73; // "frms"
const HDR_WORDS = 16;

/**
 * An immutable set of frames in one SharedArrayBuffer, readable from every thread: the templates of
 * a memory port's generator and the records a pcap-file port replays.
 *
 * Layout: Int32 header (64 bytes: [0] magic, [1] count, [2] byte offset of ts, [3] of off, [4] of
 * len, [5] of data, [6] data bytes), then Float64 ts[count] (ns after the first frame), Uint32
 * off[count] (into data, 4-byte aligned), Uint32 len[count], then the frame bytes.
 *
 * Each thread's object keeps one subarray view per frame, made at attach, so that copying a frame
 * into a packet buffer is one TypedArray.set (a memcpy) and allocates nothing.
 */
export class FrameStore {
  readonly sab: SharedArrayBuffer;
  readonly count: number;
  readonly ts: Float64Array;
  readonly len: Uint32Array;
  private readonly views: Uint8Array[];

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    const h = new Int32Array(sab, 0, HDR_WORDS);
    if (h[0] !== MAGIC) throw new TypeError('FrameStore.attach: not a frame store');
    this.count = h[1]!;
    this.ts = new Float64Array(sab, h[2]!, this.count);
    const off = new Uint32Array(sab, h[3]!, this.count);
    this.len = new Uint32Array(sab, h[4]!, this.count);
    const data = new Uint8Array(sab, h[5]!, h[6]!);
    this.views = new Array<Uint8Array>(this.count);
    for (let i = 0; i < this.count; i++) this.views[i] = data.subarray(off[i]!, off[i]! + this.len[i]!);
  }

  /** Copies `frames` into a new store. */
  static create(frames: readonly StoredFrame[]): FrameStore {
    const n = frames.length;
    const offTs = HDR_WORDS * 4;
    const offOff = offTs + n * 8;
    const offLen = offOff + n * 4;
    const offData = Math.ceil((offLen + n * 4) / 64) * 64;
    let bytes = 0;
    for (const f of frames) bytes += (f.data.length + 3) & ~3;
    const sab = new SharedArrayBuffer(offData + bytes);
    const h = new Int32Array(sab, 0, HDR_WORDS);
    h[0] = MAGIC; h[1] = n; h[2] = offTs; h[3] = offOff; h[4] = offLen; h[5] = offData; h[6] = bytes;
    const ts = new Float64Array(sab, offTs, n);
    const off = new Uint32Array(sab, offOff, n);
    const len = new Uint32Array(sab, offLen, n);
    const data = new Uint8Array(sab, offData, bytes);
    let at = 0;
    frames.forEach((f, i) => {
      ts[i] = f.tsNs ?? 0;
      off[i] = at;
      len[i] = f.data.length;
      data.set(f.data, at);
      at += (f.data.length + 3) & ~3;
    });
    return new FrameStore(sab);
  }

  static attach(sab: SharedArrayBuffer): FrameStore {
    return new FrameStore(sab);
  }

  /** Frame i's bytes (a view into shared memory: do not write). */
  frame(i: number): Uint8Array {
    return this.views[i]!;
  }

  /**
   * Copies frame i into buffer `id` at its current offset and sets M_LEN. Returns false (buffer
   * untouched) when the frame does not fit the buffer.
   */
  copyTo(i: number, pool: PacketPool, id: number): boolean {
    const v = this.views[i]!;
    const o = pool.frameOffset(id);
    if (o + v.length > (id + 1) * pool.stride) return false;
    pool.data.set(v, o);
    pool.meta[id * META_WORDS + M_LEN] = v.length;
    return true;
  }
}
