/**
 * pcapng parsing, after draft-ietf-opsawg-pcapng (the pcapng spec) and libpcap's sf-pcapng.c.
 *
 * Every block: type u32, total length u32, body, total length u32 again; lengths are multiples of
 * 4 and include the 12 bytes of framing. The Section Header Block (SHB, 0x0A0D0D0A) fixes the byte
 * order (magic 0x1A2B3C4D) and version (1.0) of its section and resets the interface list. Each
 * Interface Description Block (IDB, 1) adds an interface: linktype u16, reserved u16, snaplen u32,
 * options (if_name 2, if_tsresol 9, if_tsoffset 14 are used). Packets come as Enhanced Packet Blocks
 * (EPB, 6: interface id, 64-bit timestamp, caplen, origlen, data), Simple Packet Blocks (SPB, 3:
 * origlen, data; interface 0, no timestamp) or the obsolete Packet Block (2). Other blocks
 * (name resolution, statistics, custom, ...) are skipped.
 *
 * Each record takes the link type of ITS interface, so one file can mix link types (libpcap 1.10
 * refuses such files; tshark reads them, and so does this).
 */
import { CaptureError } from './error.js';
import { MAX_CAPLEN } from './pcap.js';
import { RecordIndexBuilder } from './record-index.js';
import { split, splitTicks, unitsPerSec } from './timestamp.js';
import type { CaptureInterface } from './types.js';
import type { ParseResult } from './parse-result.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_PB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const DEFAULT_TSRESOL = 6;

/** True when the file starts with a pcapng Section Header Block type. */
export function isPcapngMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a;
}

interface IfaceState {
  linktype: number;
  snaplen: number;
  tsresol: number;
  tsoffset: number;
}

/** Parses a whole pcapng image. Throws CaptureError for a bad first SHB; later damage goes to `error`. */
export function parsePcapng(bytes: Uint8Array, path: string): ParseResult {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  const idx = new RecordIndexBuilder(Math.min(1 << 16, Math.max(16, (len / 64) | 0)));
  const interfaces: CaptureInterface[] = [];
  let section = -1;
  let ifs: IfaceState[] = [];
  let le = true;
  let firstLe = true;
  let off = 0;
  let error: CaptureError | null = null;

  const fail = (reason: string, at: number): CaptureError => new CaptureError(path, reason, idx.count, at);

  while (off < len) {
    if (len - off < 12) {
      const e = fail(`truncated block header (${len - off} bytes left, a block needs at least 12)`, off);
      if (section < 0) throw e;
      error = e;
      break;
    }
    const rawType = dv.getUint32(off, true); // SHB's type reads the same in both orders
    if (rawType === BT_SHB) {
      // The SHB body's byte-order magic decides how to read everything in the section, its own length included.
      const bom = dv.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        const e = fail(`bad pcapng byte-order magic 0x${bom.toString(16).padStart(8, '0')} in section header`, off + 8);
        if (section < 0) throw e;
        error = e;
        break;
      }
      const blen = dv.getUint32(off + 4, le);
      const bad = checkBlockLength(dv, off, blen, len, 28, le);
      if (bad !== null) {
        const e = fail(`section header block: ${bad}`, off);
        if (section < 0) throw e;
        error = e;
        break;
      }
      const major = dv.getUint16(off + 12, le);
      const minor = dv.getUint16(off + 14, le);
      // libpcap accepts 1.0 and 1.2 (1.2 was written by a few old tools and means the same).
      if (major !== 1 || (minor !== 0 && minor !== 2)) {
        const e = fail(`unsupported pcapng version ${major}.${minor} (only 1.0 is defined)`, off + 12);
        if (section < 0) throw e;
        error = e;
        break;
      }
      if (section < 0) firstLe = le;
      section++;
      ifs = [];
      off += blen;
      continue;
    }
    if (section < 0) {
      throw fail('not a pcapng file (first block is not a section header)', off);
    }
    const type = dv.getUint32(off, le);
    const blen = dv.getUint32(off + 4, le);
    const bad = checkBlockLength(dv, off, blen, len, 12, le);
    if (bad !== null) {
      error = fail(`block type 0x${type.toString(16)}: ${bad}`, off);
      break;
    }
    const end = off + blen - 4; // start of the trailing length
    if (type === BT_IDB) {
      if (blen < 20) { error = fail(`interface description block too short (${blen} bytes)`, off); break; }
      const st: IfaceState = { linktype: dv.getUint16(off + 8, le), snaplen: dv.getUint32(off + 12, le), tsresol: DEFAULT_TSRESOL, tsoffset: 0 };
      let name: string | undefined;
      // Options: code u16, length u16, value padded to 4 bytes; opt_endofopt or the block end stops them.
      let o = off + 16;
      let optErr: string | null = null;
      while (o + 4 <= end) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === OPT_ENDOFOPT) break;
        if (o + 4 + olen > end) { optErr = `option ${code} of length ${olen} runs past the block end`; break; }
        if (code === OPT_IF_TSRESOL && olen >= 1) st.tsresol = bytes[o + 4]!;
        else if (code === OPT_IF_TSOFFSET && olen >= 8) {
          const hi = dv.getInt32(o + 4 + (le ? 4 : 0), le);
          const lo = dv.getUint32(o + 4 + (le ? 0 : 4), le);
          st.tsoffset = hi * 4294967296 + lo;
        } else if (code === OPT_IF_NAME) name = new TextDecoder().decode(bytes.subarray(o + 4, o + 4 + olen)).replace(/\0+$/, '');
        o += 4 + ((olen + 3) & ~3);
      }
      if (optErr !== null) { error = fail(`interface description block: ${optErr}`, off); break; }
      if ((st.tsresol & 0x7f) > 63 || ((st.tsresol & 0x80) === 0 && st.tsresol > 19)) {
        error = fail(`interface description block: if_tsresol ${st.tsresol} out of range`, off);
        break;
      }
      const iface: CaptureInterface = { section, id: ifs.length, linktype: st.linktype, snaplen: st.snaplen, tsUnitsPerSec: unitsPerSec(st.tsresol), ...(name !== undefined ? { name } : {}) };
      ifs.push(st);
      interfaces.push(iface);
    } else if (type === BT_EPB || type === BT_PB) {
      if (blen < 32) { error = fail(`${type === BT_EPB ? 'enhanced ' : ''}packet block too short (${blen} bytes)`, off); break; }
      const ifId = type === BT_EPB ? dv.getUint32(off + 8, le) : dv.getUint16(off + 8, le);
      const hi = dv.getUint32(off + 12, le);
      const lo = dv.getUint32(off + 16, le);
      const caplen = dv.getUint32(off + 20, le);
      const origLen = dv.getUint32(off + 24, le);
      const st = ifs[ifId];
      if (st === undefined) {
        error = fail(`record ${idx.count + 1}: packet on interface ${ifId}, but the section defines ${ifs.length} interface(s)`, off);
        break;
      }
      if (caplen > Math.max(MAX_CAPLEN, st.snaplen)) {
        error = fail(`record ${idx.count + 1}: caplen ${caplen} exceeds the maximum of ${Math.max(MAX_CAPLEN, st.snaplen)}`, off);
        break;
      }
      if (off + 28 + caplen > end) {
        error = fail(`record ${idx.count + 1}: caplen ${caplen} runs past the end of its ${blen}-byte block`, off);
        break;
      }
      splitTicks(hi, lo, st.tsresol);
      idx.add(off + 28, caplen, origLen, st.linktype, ifId, split.sec + st.tsoffset, split.nsec);
    } else if (type === BT_SPB) {
      if (blen < 16) { error = fail(`simple packet block too short (${blen} bytes)`, off); break; }
      const st = ifs[0];
      if (st === undefined) { error = fail(`record ${idx.count + 1}: simple packet block before any interface description`, off); break; }
      const origLen = dv.getUint32(off + 8, le);
      // The SPB has no caplen: it is origlen cut to the snaplen and to the block (pcapng spec §4.4).
      let caplen = Math.min(origLen, end - (off + 12));
      if (st.snaplen !== 0 && caplen > st.snaplen) caplen = st.snaplen;
      idx.add(off + 12, caplen, origLen, st.linktype, 0, 0, 0);
    }
    off += blen;
  }
  return { format: 'pcapng', byteOrder: firstLe ? 'le' : 'be', interfaces, index: idx.finish(), error };
}

/** Checks a block's framing; returns what is wrong, or null. */
function checkBlockLength(dv: DataView, off: number, blen: number, len: number, min: number, le: boolean): string | null {
  if (blen < min) return `total length ${blen} is below the minimum of ${min}`;
  if (blen % 4 !== 0) return `total length ${blen} is not a multiple of 4`;
  if (off + blen > len) return `truncated block (total length ${blen}, only ${len - off} bytes left)`;
  const trailer = dv.getUint32(off + blen - 4, le);
  if (trailer !== blen) return `leading total length ${blen} and trailing ${trailer} differ`;
  return null;
}
