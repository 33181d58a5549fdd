/**
 * readCapture: the entry point for reading a capture file. The format is sniffed from the magic
 * number (never from the extension: several `.pcap` files in the wild are pcapng).
 *
 * The whole file is read into memory and indexed in one synchronous pass (captures here are small;
 * files over 2 GiB are not supported). Throws CaptureError (framesRead 0) when the file cannot be
 * opened or its header is invalid; damage further in is reported through CaptureFile.error and by
 * the `records` iterator, after the intact records.
 */
import { readFileSync } from 'node:fs';
import { CaptureError } from './error.js';
import { isPcapMagic, parsePcap } from './pcap.js';
import { isPcapngMagic, parsePcapng } from './pcapng.js';
import type { ParseResult } from './parse-result.js';
import type { CaptureFile, CaptureRecord } from './types.js';

/** Reads and indexes the capture at `path`. See the module comment for what throws. */
export function readCapture(path: string): CaptureFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CaptureError(path, `cannot read file: ${err.code ?? ''} ${err.message}`.trim(), 0, 0);
  }
  return parseCapture(bytes, path);
}

/** Indexes a capture already in memory; `name` is used in error messages. Same errors as readCapture. */
export function parseCapture(bytes: Uint8Array, name = '<buffer>'): CaptureFile {
  let r: ParseResult;
  if (isPcapngMagic(bytes)) r = parsePcapng(bytes, name);
  else if (isPcapMagic(bytes)) r = parsePcap(bytes, name);
  else if (bytes.length < 4) throw new CaptureError(name, `file too short to be a capture (${bytes.length} bytes)`, 0, 0);
  else {
    const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new CaptureError(name, `not a pcap or pcapng file (magic ${hex})`, 0, 0);
  }
  return new IndexedCapture(name, bytes, r);
}

class IndexedCapture implements CaptureFile {
  readonly format;
  readonly byteOrder;
  readonly interfaces;
  readonly index;
  readonly count: number;
  readonly error;
  readonly linktypes: readonly number[];

  constructor(readonly path: string, readonly bytes: Uint8Array, r: ParseResult) {
    this.format = r.format;
    this.byteOrder = r.byteOrder;
    this.interfaces = r.interfaces;
    this.index = r.index;
    this.count = r.index.count;
    this.error = r.error;
    this.linktypes = [...new Set(r.index.linktype)].sort((a, b) => a - b);
  }

  record(i: number): CaptureRecord {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`record ${i} out of range [0, ${this.count})`);
    const x = this.index;
    const off = x.offset[i]!;
    const caplen = x.caplen[i]!;
    return {
      frame: i + 1,
      linktype: x.linktype[i]!,
      data: this.bytes.subarray(off, off + caplen),
      caplen,
      origLen: x.origLen[i]!,
      tsSec: x.tsSec[i]!,
      tsNsec: x.tsNsec[i]!,
      interfaceId: x.interfaceId[i]!,
    };
  }

  get records(): Iterable<CaptureRecord> {
    return { [Symbol.iterator]: () => this.iterate() };
  }

  private *iterate(): Generator<CaptureRecord> {
    for (let i = 0; i < this.count; i++) yield this.record(i);
    if (this.error !== null) throw this.error;
  }
}
