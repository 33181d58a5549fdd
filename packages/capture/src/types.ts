import type { CaptureError } from './error.js';
import type { RecordIndex } from './record-index.js';

export type CaptureFormat = 'pcap' | 'pcapng';

/** One record (frame) of a capture. `data` is a view into the file image, not a copy. */
export interface CaptureRecord {
  /** 1-based position in the file, as tshark's frame.number. */
  readonly frame: number;
  readonly linktype: number;
  /** The captured bytes (length caplen); kept as captured, also when caplen < origLen. */
  readonly data: Uint8Array;
  readonly caplen: number;
  readonly origLen: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly interfaceId: number;
}

/** A link-layer interface: the classic pcap file header, or one pcapng Interface Description Block. */
export interface CaptureInterface {
  /** pcapng section number (0-based; always 0 for classic pcap). */
  readonly section: number;
  /** Interface id within its section (what records' interfaceId refers to). */
  readonly id: number;
  readonly linktype: number;
  /** Snapshot length in bytes (0 = unlimited in pcapng). */
  readonly snaplen: number;
  /** Timestamp units per second: 1e6 (microsecond), 1e9 (nanosecond), or what pcapng if_tsresol says. */
  readonly tsUnitsPerSec: number;
  /** pcapng if_name, when present. */
  readonly name?: string;
}

/**
 * A capture file read into memory and indexed. Records that were read before a corruption stay
 * available; `error` then says what went wrong, and iterating `records` throws it after the last
 * intact record (so a plain for-of loop cannot silently miss a truncated file).
 */
export interface CaptureFile {
  readonly path: string;
  readonly format: CaptureFormat;
  /** pcap: 'le' | 'be' of the file; pcapng: of the first section. */
  readonly byteOrder: 'le' | 'be';
  /** The whole file image; record data are views into it. */
  readonly bytes: Uint8Array;
  readonly interfaces: readonly CaptureInterface[];
  /** Distinct link types of the records actually read, ascending. */
  readonly linktypes: readonly number[];
  readonly index: RecordIndex;
  /** Records read intact (= index.count). */
  readonly count: number;
  /** Set when the file is damaged after `count` intact records. */
  readonly error: CaptureError | null;
  readonly records: Iterable<CaptureRecord>;
  /** Record i (0-based) as an object; throws RangeError outside [0, count). */
  record(i: number): CaptureRecord;
}
