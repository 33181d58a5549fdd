/**
 * Column store of the records of one capture file: record i is described by entry i of each array,
 * and its captured bytes are `bytes[offset[i] .. offset[i] + caplen[i])` of the file image. Reading
 * a record this way allocates nothing (no object per frame).
 */
export interface RecordIndex {
  /** Number of records read intact. */
  readonly count: number;
  /** Byte offset of the captured data in the file image. */
  readonly offset: Uint32Array;
  /** Captured length in bytes (bytes present in the file). May exceed origLen in damaged files. */
  readonly caplen: Uint32Array;
  /** Original length on the wire in bytes, as the record header says (not checked). */
  readonly origLen: Uint32Array;
  /** LINKTYPE_* of the record: the file's (pcap) or its interface's (pcapng). */
  readonly linktype: Uint32Array;
  /** pcapng interface id within its section (0 for classic pcap). */
  readonly interfaceId: Uint32Array;
  /** Timestamp, whole seconds since the Unix epoch (plus any pcapng if_tsoffset). */
  readonly tsSec: Float64Array;
  /** Timestamp, nanoseconds within the second (classic pcap: the raw field × 1000 or as is, not normalized). */
  readonly tsNsec: Uint32Array;
}

/** Growable builder for a RecordIndex (doubling typed arrays). */
export class RecordIndexBuilder {
  count = 0;
  private cap: number;
  offset: Uint32Array;
  caplen: Uint32Array;
  origLen: Uint32Array;
  linktype: Uint32Array;
  interfaceId: Uint32Array;
  tsSec: Float64Array;
  tsNsec: Uint32Array;

  constructor(initial = 256) {
    this.cap = Math.max(1, initial);
    this.offset = new Uint32Array(this.cap);
    this.caplen = new Uint32Array(this.cap);
    this.origLen = new Uint32Array(this.cap);
    this.linktype = new Uint32Array(this.cap);
    this.interfaceId = new Uint32Array(this.cap);
    this.tsSec = new Float64Array(this.cap);
    this.tsNsec = new Uint32Array(this.cap);
  }

  add(offset: number, caplen: number, origLen: number, linktype: number, interfaceId: number, tsSec: number, tsNsec: number): void {
    if (this.count === this.cap) this.grow();
    const i = this.count++;
    this.offset[i] = offset;
    this.caplen[i] = caplen;
    this.origLen[i] = origLen;
    this.linktype[i] = linktype;
    this.interfaceId[i] = interfaceId;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
  }

  finish(): RecordIndex {
    const n = this.count;
    return {
      count: n,
      offset: this.offset.slice(0, n),
      caplen: this.caplen.slice(0, n),
      origLen: this.origLen.slice(0, n),
      linktype: this.linktype.slice(0, n),
      interfaceId: this.interfaceId.slice(0, n),
      tsSec: this.tsSec.slice(0, n),
      tsNsec: this.tsNsec.slice(0, n),
    };
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g32 = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(cap); b.set(a); return b; };
    this.offset = g32(this.offset);
    this.caplen = g32(this.caplen);
    this.origLen = g32(this.origLen);
    this.linktype = g32(this.linktype);
    this.interfaceId = g32(this.interfaceId);
    const t = new Float64Array(cap); t.set(this.tsSec); this.tsSec = t;
    this.tsNsec = g32(this.tsNsec);
    this.cap = cap;
  }
}
