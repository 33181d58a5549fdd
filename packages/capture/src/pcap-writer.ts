/**
 * PcapWriter: appends frames to a classic pcap file (version 2.4, little-endian, microsecond
 * timestamps, magic 0xa1b2c3d4; format as in pcap.ts). Written here rather than taken from the
 * registry: the only writer there (pcap-generator 0.2.3) builds a whole big-endian file in memory
 * and cannot append; node_pcap can only dump packets its own libpcap session captured.
 *
 * Writes are synchronous and buffered: records are copied into a preallocated buffer (no
 * allocation per frame) that goes to the file when full, on flush() and on close(). A frame longer
 * than the snaplen is cut to it (caplen = snaplen, origLen = the frame's length), as a capture would.
 *
 * Errors: the constructor throws CaptureError when an existing file (append mode) is not a
 * little-endian microsecond pcap 2.4 with the same link type, and Node's fs errors pass through
 * from open/write. write() after close() throws Error.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { CaptureError } from './error.js';
import { LINKTYPE_ETHERNET } from './linktype.js';
import { MAX_CAPLEN, PCAP_HEADER_LEN, PCAP_MAGIC_US, PCAP_RECORD_HEADER_LEN } from './pcap.js';

export interface PcapWriterOptions {
  /** LINKTYPE_* written in the file header (default LINKTYPE_ETHERNET). */
  linktype?: number;
  /** Snapshot length in bytes (default 262144). */
  snaplen?: number;
  /** true: keep an existing file and add records after it (default); false: start a new file. */
  append?: boolean;
  /** Buffer size in bytes before a write(2) (default 256 KiB). */
  bufferSize?: number;
}

export class PcapWriter {
  readonly linktype: number;
  readonly snaplen: number;
  /** Frames written (buffered or on disk) by this writer. */
  framesWritten = 0;
  private fd: number;
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private used = 0;

  constructor(readonly path: string, opts: PcapWriterOptions = {}) {
    this.linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    this.snaplen = opts.snaplen ?? MAX_CAPLEN;
    const size = Math.max(opts.bufferSize ?? 256 * 1024, PCAP_HEADER_LEN + PCAP_RECORD_HEADER_LEN);
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
    this.fd = openSync(path, opts.append === false ? 'w' : 'a+');
    try {
      const existing = fstatSync(this.fd).size;
      if (existing === 0) this.putHeader();
      else this.checkHeader(existing);
    } catch (e) {
      closeSync(this.fd);
      this.fd = -1;
      throw e;
    }
  }

  /** Appends `frame` (all of it) with the given timestamp (default: now). */
  write(frame: Uint8Array, tsSec?: number, tsUsec?: number): void {
    if (tsSec === undefined) {
      const ms = Date.now();
      tsSec = Math.floor(ms / 1000);
      tsUsec = (ms % 1000) * 1000;
    }
    this.writeRange(frame, 0, frame.length, tsSec, tsUsec ?? 0);
  }

  /**
   * Appends the frame buf[offset, offset+length) with timestamp tsSec.tsUsec (µs);
   * `origLen` defaults to length. The only allocation is the short-lived view of a sub-range
   * (none when the whole of `buf` is written).
   */
  writeRange(buf: Uint8Array, offset: number, length: number, tsSec: number, tsUsec: number, origLen = length): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close`);
    const caplen = length > this.snaplen ? this.snaplen : length;
    if (this.used + PCAP_RECORD_HEADER_LEN + caplen > this.buf.length) this.flush();
    const dv = this.dv;
    let at = this.used;
    dv.setUint32(at, tsSec >>> 0, true);
    dv.setUint32(at + 4, tsUsec >>> 0, true);
    dv.setUint32(at + 8, caplen, true);
    dv.setUint32(at + 12, origLen >>> 0, true);
    at += PCAP_RECORD_HEADER_LEN;
    if (at + caplen <= this.buf.length) {
      this.buf.set(offset === 0 && caplen === buf.length ? buf : buf.subarray(offset, offset + caplen), at);
      this.used = at + caplen;
    } else {
      // Larger than the whole buffer: header from the buffer, then the frame straight from the caller.
      this.used = at;
      this.flush();
      writeAll(this.fd, buf, offset, caplen);
    }
    this.framesWritten++;
  }

  /** Writes buffered records to the file. */
  flush(): void {
    if (this.fd < 0 || this.used === 0) return;
    writeAll(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  /** Flushes and closes; further writes throw. Closing twice is harmless. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private putHeader(): void {
    const dv = this.dv;
    dv.setUint32(0, PCAP_MAGIC_US, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setInt32(8, 0, true); // thiszone: timestamps are UTC
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, this.snaplen, true);
    dv.setUint32(20, this.linktype, true);
    this.used = PCAP_HEADER_LEN;
  }

  private checkHeader(size: number): void {
    const h = new Uint8Array(PCAP_HEADER_LEN);
    const got = size >= PCAP_HEADER_LEN ? readSync(this.fd, h, 0, PCAP_HEADER_LEN, 0) : 0;
    const dv = new DataView(h.buffer);
    if (got < PCAP_HEADER_LEN || dv.getUint32(0, true) !== PCAP_MAGIC_US || dv.getUint16(4, true) !== 2 || dv.getUint16(6, true) !== 4) {
      throw new CaptureError(this.path, 'cannot append: existing file is not a little-endian microsecond pcap 2.4', 0, 0);
    }
    const lt = dv.getUint32(20, true) & 0x03ffffff;
    if (lt !== this.linktype) {
      throw new CaptureError(this.path, `cannot append: existing file has link type ${lt}, not ${this.linktype}`, 0, 20);
    }
  }
}

function writeAll(fd: number, buf: Uint8Array, offset: number, length: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buf, offset + done, length - done);
}
