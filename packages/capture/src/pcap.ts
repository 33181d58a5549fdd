/**
 * Classic pcap (libpcap savefile) parsing, after draft-ietf-opsawg-pcap and libpcap's sf-pcap.c.
 *
 * File header, 24 bytes, in the writer's byte order: magic u32 (0xa1b2c3d4 = microsecond
 * timestamps, 0xa1b23c4d = nanosecond), version_major u16 (2), version_minor u16 (4), thiszone i32,
 * sigfigs u32, snaplen u32, linktype u32 (low 26 bits: LINKTYPE_*; the top bits carry FCS
 * information and are dropped, as libpcap's LT_LINKTYPE does).
 * Record: ts_sec u32, ts_frac u32 (µs or ns), caplen u32, origlen u32, then caplen bytes.
 *
 * Deliberate choices (checked against tshark 4.0, which wrote the truth files):
 * - a caplen larger than the file's snaplen or than origlen is kept as stored (libpcap instead cuts
 *   the record to snaplen; tshark keeps it);
 * - a caplen over max(262144, snaplen) is an error (libpcap and tshark both refuse such records);
 * - a record cut short by the end of the file is an error after the intact records.
 */
import { CaptureError } from './error.js';
import { RecordIndexBuilder } from './record-index.js';
import type { CaptureInterface } from './types.js';
import type { ParseResult } from './parse-result.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** libpcap's MAXIMUM_SNAPLEN: the largest caplen accepted unless the file's snaplen is larger. */
export const MAX_CAPLEN = 262144;
const LT_LINKTYPE_MASK = 0x03ffffff;

/** True when the first 4 bytes are a classic pcap magic number in either byte order. */
export function isPcapMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 4);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  return [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV].some((m) => m === le || m === be);
}

/** Parses a whole classic pcap image. Throws CaptureError for a bad file header; later damage goes to `error`. */
export function parsePcap(bytes: Uint8Array, path: string): ParseResult {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  if (len < PCAP_HEADER_LEN) {
    throw new CaptureError(path, `file too short for a pcap file header (${len} of ${PCAP_HEADER_LEN} bytes)`, 0, 0);
  }
  let le: boolean;
  const magicLe = dv.getUint32(0, true);
  const magicBe = dv.getUint32(0, false);
  let magic: number;
  if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS || magicLe === PCAP_MAGIC_KUZNETZOV) {
    le = true; magic = magicLe;
  } else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS || magicBe === PCAP_MAGIC_KUZNETZOV) {
    le = false; magic = magicBe;
  } else {
    throw new CaptureError(path, `not a pcap file (magic 0x${magicBe.toString(16).padStart(8, '0')})`, 0, 0);
  }
  if (magic === PCAP_MAGIC_KUZNETZOV) {
    throw new CaptureError(path, 'Kuznetzov modified pcap format (magic 0xa1b2cd34) is not supported', 0, 0);
  }
  const major = dv.getUint16(4, le);
  const minor = dv.getUint16(6, le);
  if (major !== 2 || minor !== 4) {
    throw new CaptureError(path, `unsupported pcap version ${major}.${minor} (only 2.4 is defined)`, 0, 4);
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & LT_LINKTYPE_MASK;
  const nano = magic === PCAP_MAGIC_NS;
  const iface: CaptureInterface = { section: 0, id: 0, linktype, snaplen, tsUnitsPerSec: nano ? 1e9 : 1e6 };
  const maxCaplen = Math.max(MAX_CAPLEN, snaplen);
  const fracScale = nano ? 1 : 1000;

  const idx = new RecordIndexBuilder(Math.min(1 << 16, Math.max(16, (len / 64) | 0)));
  let off = PCAP_HEADER_LEN;
  let error: CaptureError | null = null;
  while (off < len) {
    const n = idx.count;
    if (len - off < PCAP_RECORD_HEADER_LEN) {
      error = new CaptureError(path, `record ${n + 1}: truncated record header (${len - off} of ${PCAP_RECORD_HEADER_LEN} bytes)`, n, off);
      break;
    }
    const tsSec = dv.getUint32(off, le);
    const tsFrac = dv.getUint32(off + 4, le);
    const caplen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    if (caplen > maxCaplen) {
      error = new CaptureError(path, `record ${n + 1}: caplen ${caplen} exceeds the maximum of ${maxCaplen}`, n, off);
      break;
    }
    const data = off + PCAP_RECORD_HEADER_LEN;
    if (data + caplen > len) {
      error = new CaptureError(path, `record ${n + 1}: truncated record (caplen ${caplen}, only ${len - data} bytes left)`, n, off);
      break;
    }
    // tsFrac * 1000 passes 2^32 only in damaged files (µs field >= 4294967); it then wraps, as a u32 column must.
    idx.add(data, caplen, origLen, linktype, 0, tsSec, (tsFrac * fracScale) >>> 0);
    off = data + caplen;
  }
  return { format: 'pcap', byteOrder: le ? 'le' : 'be', interfaces: [iface], index: idx.finish(), error };
}
