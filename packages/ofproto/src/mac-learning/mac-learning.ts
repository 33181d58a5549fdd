/**
 * MAC learning table for NORMAL: a port of OVS 3.1 lib/mac-learning.c.
 *
 * Entries are keyed by (VLAN, MAC) and hold the port (OpenFlow port number; tsvs has no bonds, so
 * a port is a bundle) the MAC was last seen on. Semantics, all OVS's:
 * - Learning (`update`): multicast sources are never learned. A new entry, or one whose port
 *   changed ("moved"), returns true. Refreshing the expiry of an entry learned in an earlier
 *   second also moves it to the LRU tail; within the same second nothing changes (OVS only takes
 *   the write lock when `age > 0`).
 * - Aging: an entry expires `idleTime` seconds (mac-aging-time, clamped to 15..3600, default 300)
 *   after it was last refreshed. Expired entries are removed by `run()` (OVS mac_learning_run,
 *   called periodically by the daemon), not by lookups: until then a lookup still finds them.
 * - Size: at most `maxEntries` (mac-table-size, clamped to 10..1000000). Learning a new MAC in a
 *   full table first evicts one entry "fairly" (evict_mac_entry_fairly): the least recently used
 *   entry of the port that holds the most entries.
 * - Static entries (`fdb/add`) never age and are not moved by learning (fair eviction may still
 *   pick one, as in OVS).
 * - Time is whole seconds of the injected clock (OVS time_now()).
 *
 * Changes are reported for revalidation, as OVS sets `need_revalidate` (MAC moved, expired,
 * evicted, flushed): `takeNeedRevalidate()` returns and clears the flag, and an optional listener
 * receives each change with the old port, so flows that forwarded to it can be found.
 *
 * Lookups allocate nothing; learning a new MAC allocates one entry object.
 */

/** OVS MAC_ENTRY_DEFAULT_IDLE_TIME (s). */
export const MAC_ENTRY_DEFAULT_IDLE_TIME = 300;
/** tsvs default mac-table-size (OVS 3.1's MAC_DEFAULT_MAX is 8192; see packages/control tunables). */
export const MAC_DEFAULT_MAX = 2048;
/** OVS MAC_GRAT_ARP_LOCK_TIME (s). */
export const MAC_GRAT_ARP_LOCK_TIME = 5;
/** `age` of a static entry (OVS MAC_ENTRY_AGE_STATIC_ENTRY). */
export const MAC_ENTRY_AGE_STATIC = 0x7fffffff;

/** One learned address. Read-only outside this module. */
export class MacEntry {
  /** Seconds (clock) when the entry expires, or MAC_ENTRY_AGE_STATIC for a static entry. */
  expires = 0;
  gratArpLockUntil = -Infinity;
  port = -1;
  lruPrev: MacEntry | null = null;
  lruNext: MacEntry | null = null;
  portPrev: MacEntry | null = null;
  portNext: MacEntry | null = null;
  constructor(
    /** VLAN 0..4095. */
    readonly vlan: number,
    /** MAC as the flow key holds it: bytes 0..1 and 2..5. */
    readonly macHi: number,
    readonly macLo: number,
  ) {}
}

export type MacEventType = 'learned' | 'moved' | 'expired' | 'evicted' | 'flushed' | 'deleted';

/** A change of the table. `oldPort` is -1 for `learned`, `port` -1 when the entry is gone. */
export interface MacEvent {
  type: MacEventType;
  vlan: number;
  macHi: number;
  macLo: number;
  port: number;
  oldPort: number;
}

export interface MacLearningOptions {
  /** mac-aging-time in seconds (clamped to 15..3600). Default 300. */
  idleTime?: number;
  /** mac-table-size (clamped to 10..1000000). Default 2048. */
  maxEntries?: number;
  /** Clock in milliseconds (monotonic). Default performance.now-based. */
  now?: () => number;
  /** Called for every change (see MacEvent). */
  onEvent?: (e: MacEvent) => void;
}

/** Counters as `ovs-appctl fdb/stats-show` prints them. */
export interface MacLearningStats {
  entries: number;
  maxEntries: number;
  staticEntries: number;
  learned: number;
  expired: number;
  evicted: number;
  moved: number;
}

interface PortList { head: MacEntry | null; tail: MacEntry | null; count: number }

/** True for a group (multicast/broadcast) MAC: the I/G bit of the first byte. */
export function macIsMulticast(hi: number): boolean {
  return (hi & 0x0100) !== 0;
}

const TWO32 = 4294967296;

export class MacLearning {
  private idle: number;
  private max: number;
  private readonly clock: () => number;
  private listener: ((e: MacEvent) => void) | null;
  /** vlan -> (mac as a 48-bit number -> entry). */
  private readonly table = new Map<number, Map<number, MacEntry>>();
  private count = 0;
  private nStatic = 0;
  /** Global LRU list: head = least recently used. */
  private lruHead: MacEntry | null = null;
  private lruTail: MacEntry | null = null;
  private readonly ports = new Map<number, PortList>();
  private needRevalidate = false;
  private readonly st = { learned: 0, expired: 0, evicted: 0, moved: 0 };

  constructor(opts: MacLearningOptions = {}) {
    this.idle = normalizeIdleTime(opts.idleTime ?? MAC_ENTRY_DEFAULT_IDLE_TIME);
    this.max = normalizeMaxEntries(opts.maxEntries ?? MAC_DEFAULT_MAX);
    const t0 = performance.now();
    this.clock = opts.now ?? (() => performance.now() - t0);
    this.listener = opts.onEvent ?? null;
  }

  /** Current time in whole seconds (OVS time_now()). */
  private nowS(): number {
    return Math.floor(this.clock() / 1000);
  }

  get idleTime(): number {
    return this.idle;
  }

  get maxEntries(): number {
    return this.max;
  }

  get size(): number {
    return this.count;
  }

  setListener(fn: ((e: MacEvent) => void) | null): void {
    this.listener = fn;
  }

  /** OVS mac_learning_set_idle_time: existing entries keep their remaining life shifted by the change. */
  setIdleTime(seconds: number): void {
    const t = normalizeIdleTime(seconds);
    if (t === this.idle) return;
    const delta = t - this.idle;
    for (let e = this.lruHead; e; e = e.lruNext) if (e.expires !== MAC_ENTRY_AGE_STATIC) e.expires += delta;
    this.idle = t;
  }

  /** OVS mac_learning_set_max_entries (the table shrinks at the next `run()`). */
  setMaxEntries(n: number): void {
    this.max = normalizeMaxEntries(n);
  }

  private find(vlan: number, hi: number, lo: number): MacEntry | undefined {
    return this.table.get(vlan)?.get(hi * TWO32 + (lo >>> 0));
  }

  /**
   * OVS mac_learning_lookup: the port `dst` was learned on in `vlan`, or -1 (unknown, or a
   * multicast destination, which is never learned).
   */
  lookup(vlan: number, hi: number, lo: number): number {
    if (macIsMulticast(hi)) return -1;
    const e = this.find(vlan, hi, lo);
    return e ? e.port : -1;
  }

  /** The entry for (vlan, MAC), or undefined (also for multicast). */
  entry(vlan: number, hi: number, lo: number): MacEntry | undefined {
    return macIsMulticast(hi) ? undefined : this.find(vlan, hi, lo);
  }

  /** OVS mac_entry_age: seconds since the entry was last refreshed, or MAC_ENTRY_AGE_STATIC. */
  age(e: MacEntry): number {
    if (e.expires === MAC_ENTRY_AGE_STATIC) return MAC_ENTRY_AGE_STATIC;
    return this.idle - (e.expires - this.nowS());
  }

  /**
   * OVS mac_learning_update: learns that `src` is on `port` in `vlan`. Returns true if the table
   * changed what it says about the MAC (new entry, or moved from another port). `isGratArp`: the
   * packet is a gratuitous ARP (then the entry is refreshed and locked against moves from bonds,
   * which tsvs does not have).
   */
  update(vlan: number, hi: number, lo: number, port: number, isGratArp = false): boolean {
    if (macIsMulticast(hi) || port < 0) return false;
    // is_mac_learning_update_needed.
    const e = this.find(vlan, hi, lo);
    if (e) {
      const age = this.age(e);
      if (age === MAC_ENTRY_AGE_STATIC) return false;
      if (!(age > 0) && !isGratArp && e.port === port) return false;
    }
    // update_learning_table__.
    const now = this.nowS();
    const ent = this.insert(vlan, hi, lo, now, false);
    if (isGratArp) ent.gratArpLockUntil = now + MAC_GRAT_ARP_LOCK_TIME;
    if (ent.port !== port) {
      const old = ent.port;
      if (old >= 0) this.st.moved++;
      this.setPort(ent, port);
      this.emit(old >= 0 ? 'moved' : 'learned', ent, port, old);
      return true;
    }
    return false;
  }

  /** OVS mac_learning_add_static_entry (`fdb/add`): a permanent entry; replaces a dynamic one. */
  addStatic(vlan: number, hi: number, lo: number, port: number): void {
    const ent = this.insert(vlan, hi, lo, this.nowS(), true);
    if (ent.port !== port) {
      const old = ent.port;
      this.setPort(ent, port);
      this.emit(old >= 0 ? 'moved' : 'learned', ent, port, old);
    }
  }

  /** OVS mac_learning_del_static_entry (`fdb/del`). Returns false if there was no static entry. */
  delStatic(vlan: number, hi: number, lo: number): boolean {
    const e = this.entry(vlan, hi, lo);
    if (!e || e.expires !== MAC_ENTRY_AGE_STATIC) return false;
    this.remove(e, 'deleted');
    this.nStatic--;
    return true;
  }

  /** mac_learning_insert__: finds or creates the entry, marks it most recently used, sets expiry. */
  private insert(vlan: number, hi: number, lo: number, now: number, isStatic: boolean): MacEntry {
    let e = this.find(vlan, hi, lo);
    if (!e) {
      if (this.count >= this.max) this.evictFairly();
      e = new MacEntry(vlan, hi & 0xffff, lo >>> 0);
      let m = this.table.get(vlan);
      if (!m) this.table.set(vlan, (m = new Map()));
      m.set(hi * TWO32 + (lo >>> 0), e);
      this.count++;
      if (!isStatic) this.st.learned++;
    } else {
      this.lruUnlink(e);
    }
    this.lruPushBack(e);
    if (e.port >= 0) {
      const pl = this.ports.get(e.port)!;
      portUnlink(pl, e);
      portPushBack(pl, e);
    }
    if (isStatic) {
      if (e.expires !== MAC_ENTRY_AGE_STATIC) this.nStatic++;
      e.expires = MAC_ENTRY_AGE_STATIC;
    } else {
      e.expires = now + this.idle;
    }
    return e;
  }

  /** mac_entry_set_port. */
  private setPort(e: MacEntry, port: number): void {
    if (e.port === port) return;
    this.needRevalidate = true;
    if (e.port >= 0) {
      const pl = this.ports.get(e.port)!;
      portUnlink(pl, e);
      if (pl.count === 0) this.ports.delete(e.port);
    }
    e.port = port;
    if (port >= 0) {
      let pl = this.ports.get(port);
      if (!pl) this.ports.set(port, (pl = { head: null, tail: null, count: 0 }));
      portPushBack(pl, e);
    }
  }

  /**
   * evict_mac_entry_fairly: the least recently used entry of the port with the most entries. OVS
   * breaks ties by its heap order; tsvs takes the tied port whose LRU entry is oldest.
   */
  private evictFairly(): void {
    let best: PortList | null = null;
    for (const pl of this.ports.values()) {
      if (!best || pl.count > best.count || (pl.count === best.count && this.olderThan(pl.head!, best.head!))) best = pl;
    }
    if (!best || !best.head) return;
    this.st.evicted++;
    if (best.head.expires === MAC_ENTRY_AGE_STATIC) this.nStatic--;
    this.remove(best.head, 'evicted');
  }

  private olderThan(a: MacEntry, b: MacEntry): boolean {
    for (let e = this.lruHead; e; e = e.lruNext) {
      if (e === a) return true;
      if (e === b) return false;
    }
    return false;
  }

  /** mac_learning_expire: removes the entry. */
  private remove(e: MacEntry, why: MacEventType): void {
    const old = e.port;
    this.needRevalidate = true;
    this.setPort(e, -1);
    const m = this.table.get(e.vlan)!;
    m.delete(e.macHi * TWO32 + e.macLo);
    if (m.size === 0) this.table.delete(e.vlan);
    this.lruUnlink(e);
    this.count--;
    this.emit(why, e, -1, old);
  }

  /**
   * OVS mac_learning_run: removes dynamic entries that expired, and the least recently used ones
   * while over the size limit. Returns whether anything changed since the last call that may
   * require flow revalidation (and clears that flag).
   */
  run(): boolean {
    const now = this.nowS();
    for (;;) {
      const e = this.firstDynamic();
      if (!e || !(this.count > this.max || now >= e.expires)) break;
      this.st.expired++;
      this.remove(e, 'expired');
    }
    return this.takeNeedRevalidate();
  }

  /** Returns and clears the "flows may need revalidation" flag. */
  takeNeedRevalidate(): boolean {
    const r = this.needRevalidate;
    this.needRevalidate = false;
    return r;
  }

  /** Seconds until the next entry expires (for the caller's timer), or Infinity. */
  nextExpiry(): number {
    const e = this.firstDynamic();
    return e ? Math.max(0, e.expires - this.nowS()) : Infinity;
  }

  private firstDynamic(): MacEntry | null {
    for (let e = this.lruHead; e; e = e.lruNext) if (e.expires !== MAC_ENTRY_AGE_STATIC) return e;
    return null;
  }

  /** OVS mac_learning_flush (`fdb/flush`): removes all dynamic entries. */
  flush(): void {
    for (let e = this.firstDynamic(); e; e = this.firstDynamic()) this.remove(e, 'flushed');
  }

  /** Removes every entry on `port` (OVS bundle_flush_macs: port removed or reconfigured). */
  flushPort(port: number): void {
    const pl = this.ports.get(port);
    while (pl && pl.head) {
      if (pl.head.expires === MAC_ENTRY_AGE_STATIC) this.nStatic--;
      this.remove(pl.head, 'flushed');
    }
  }

  /** Entries from least to most recently used (the order `fdb/show` prints). */
  *entries(): IterableIterator<MacEntry> {
    for (let e = this.lruHead; e; e = e.lruNext) yield e;
  }

  stats(): MacLearningStats {
    return { entries: this.count, maxEntries: this.max, staticEntries: this.nStatic, ...this.st };
  }

  /** OVS mac_learning_clear_statistics. */
  clearStats(): void {
    this.st.learned = this.st.expired = this.st.evicted = this.st.moved = 0;
  }

  private emit(type: MacEventType, e: MacEntry, port: number, oldPort: number): void {
    if (this.listener) this.listener({ type, vlan: e.vlan, macHi: e.macHi, macLo: e.macLo, port, oldPort });
  }

  private lruUnlink(e: MacEntry): void {
    if (e.lruPrev) e.lruPrev.lruNext = e.lruNext;
    else this.lruHead = e.lruNext;
    if (e.lruNext) e.lruNext.lruPrev = e.lruPrev;
    else this.lruTail = e.lruPrev;
    e.lruPrev = e.lruNext = null;
  }

  private lruPushBack(e: MacEntry): void {
    e.lruPrev = this.lruTail;
    e.lruNext = null;
    if (this.lruTail) this.lruTail.lruNext = e;
    else this.lruHead = e;
    this.lruTail = e;
  }
}

function portUnlink(pl: PortList, e: MacEntry): void {
  if (e.portPrev) e.portPrev.portNext = e.portNext;
  else pl.head = e.portNext;
  if (e.portNext) e.portNext.portPrev = e.portPrev;
  else pl.tail = e.portPrev;
  e.portPrev = e.portNext = null;
  pl.count--;
}

function portPushBack(pl: PortList, e: MacEntry): void {
  e.portPrev = pl.tail;
  e.portNext = null;
  if (pl.tail) pl.tail.portNext = e;
  else pl.head = e;
  pl.tail = e;
  pl.count++;
}

/** OVS normalize_idle_time: 15..3600 s. */
export function normalizeIdleTime(t: number): number {
  const v = Math.floor(t);
  return !(v >= 15) ? 15 : v > 3600 ? 3600 : v;
}

/** OVS mac_learning_set_max_entries clamp: 10..1000000. */
export function normalizeMaxEntries(n: number): number {
  const v = Math.floor(n);
  return !(v >= 10) ? 10 : v > 1000000 ? 1000000 : v;
}
