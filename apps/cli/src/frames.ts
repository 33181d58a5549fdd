/**
 * Frames given on the command line: `--packet HEX` (an Ethernet frame in hex; spaces, colons and a
 * 0x prefix are allowed, as OVS's ofproto/trace and netdev-dummy/receive take them) or the Ethernet
 * records of a pcap/pcapng file. Errors are UsageErrors naming the bad value.
 */
import { CaptureError, LINKTYPE_ETHERNET, readCapture } from '@tsvs/capture';
import { UsageError } from './base-command.js';

/** Parses one hex frame; returns its bytes. */
export function parseHexFrame(text: string, what = '--packet'): Uint8Array {
  const hex = text.trim().replace(/^0x/i, '').replace(/[\s:.-]/g, '');
  if (hex === '' || !/^[0-9a-fA-F]+$/.test(hex)) throw new UsageError(`${what} "${text.slice(0, 40)}": not a hex string`);
  if (hex.length % 2 !== 0) throw new UsageError(`${what}: odd number of hex digits (${hex.length})`);
  const b = Buffer.from(hex, 'hex');
  if (b.length < 14) throw new UsageError(`${what}: ${b.length} bytes is shorter than an Ethernet header (14)`);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** The Ethernet frames of a capture, in order. Non-Ethernet records are skipped (and counted). */
export function readPcapFrames(path: string): { frames: Uint8Array[]; skipped: number } {
  let cap;
  try {
    cap = readCapture(path);
  } catch (e) {
    throw new UsageError(e instanceof CaptureError ? e.message : `${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (cap.error !== null) throw new UsageError(`${path}: ${cap.error.message}`);
  const frames: Uint8Array[] = [];
  let skipped = 0;
  for (let i = 0; i < cap.count; i++) {
    if (cap.index.linktype[i] !== LINKTYPE_ETHERNET || cap.index.caplen[i]! < 14) {
      skipped++;
      continue;
    }
    const off = cap.index.offset[i]!;
    frames.push(cap.bytes.slice(off, off + cap.index.caplen[i]!));
  }
  if (frames.length === 0) throw new UsageError(`${path}: no Ethernet frames`);
  return { frames, skipped };
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
