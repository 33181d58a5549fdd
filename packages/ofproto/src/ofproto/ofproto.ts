/**
 * `Ofproto`: one bridge on the daemon's control thread (OVS ofproto + ofproto-dpif + udpif, for one
 * bridge over one datapath). See the "handlers" section of packages/ofproto/README.md for the API
 * contract. It owns:
 * - the bridge ports: names, OpenFlow port numbers ↔ odp ports, VLAN settings (tag/trunks/mode);
 *   the datapath's local port (odp 0) is the bridge port LOCAL, named like the datapath;
 * - the master OpenFlow tables (add/mod/del/dump-flows in ovs-ofctl syntax and format; rule stats
 *   credited by the revalidators and, for upcalled packets, by the handlers; idle/hard timeouts
 *   expired periodically), replicated to every handler and revalidator thread;
 * - the shared MAC learning table (fdb show, aging run periodically);
 * - the handler threads and the revalidator threads (counts changeable at run time);
 * - trace, upcall show, set-flow-limit, revalidator wait/purge/pause/resume, packet-in subscribers.
 *
 * Every change to tables or ports is applied to the master, recorded in the replica history and
 * broadcast to all replicas (handlers and revalidators, in one order), and kicks the revalidators.
 *
 * Errors: user input (rule text, port specs, names, numbers) → `OfprotoError`, `OfctlSyntaxError`,
 * `FlowParseError` or `OfTablesError`, one line naming the bad token; nothing changes then.
 */
import { dpNowMs, type Datapath } from '@tsvs/dpif';
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { UkeyTable } from '../revalidator/ukey-table.js';
import {
  Revalidators, DEFAULT_REVAL_TUNABLES, type RevalTunables, type RevalidatorThreadEvent, type UpcallShowData,
} from '../revalidator/revalidators.js';
import type { StatsCredits } from '../revalidator/reval-stats.js';
import { formatUpcallShow, upcallShowJson } from '../upcall-show/format.js';
import { OfTables, type ApplyResult } from '../tables/of-tables.js';
import { parseFlowMod, type FlowMod, type FlowModCommand } from '../rules/flow-mod.js';
import { OFPP_LOCAL, OFPP_MAX, OFPP_NONE, formatPort } from '../rules/ports.js';
import { BridgePorts, localPortConfig, type BridgeConfig } from '../bridge/bridge.js';
import type { PortConfig, VlanMode } from '../bridge/bridge-port.js';
import { traceFlow, tracePacket, type TraceOutput } from '../trace/trace.js';
import { xlateFlow } from '../xlate/xlate.js';
import type { MacLearning } from '../mac-learning/mac-learning.js';
import { MAC_DEFAULT_MAX, MAC_ENTRY_DEFAULT_IDLE_TIME } from '../mac-learning/mac-learning.js';
import { SharedMacTable } from '../fdb-shared/shared-mac-table.js';
import { formatSharedFdbShow, formatSharedFdbStats } from '../fdb-shared/fdb-show.js';
import { Handlers, type HandlerPortStats, type HandlerThreadEvent, type HandlerThreadStats } from '../handler/handlers.js';
import type { HandlerConfig, HandlerCredits } from '../handler/handler-messages.js';
import type { PacketIn } from '../handler/packet-in.js';
import type { ReplicaInit, ReplicaUpdate } from './replica.js';
import { BRIDGE_TRANSLATOR_MODULE } from './bridge-translator.js';

/** A bad request to the bridge (unknown port, name in use...). One line. */
export class OfprotoError extends Error {
  override readonly name = 'OfprotoError';
}

/** Tunables the bridge follows (OVS other_config names; units as in packages/control tunables). */
export interface OfprotoTunables extends RevalTunables {
  'mac-aging-time': number;
  'mac-table-size': number;
}

export interface OfprotoOptions {
  /** Bridge name (ofproto/trace's `bridge("NAME")`, fdb/show). Default: the datapath's name. */
  name?: string;
  /** Handler threads at start. Default 1. */
  handlers?: number;
  /** Revalidator threads at start. Default 1. */
  revalidators?: number;
  tunables?: Partial<OfprotoTunables>;
  handlerConfig?: Partial<HandlerConfig>;
  /** Timed revalidation rounds (every max-revalidator ms). Default true. */
  revalidatorTimer?: boolean;
  /** OpenFlow tables (1..255). Default 255. */
  nTables?: number;
  /** Shared MAC table capacity (entries). Default max(mac-table-size, 65536). */
  fdbCapacity?: number;
  /** Period of rule expiry and MAC aging, ms. Default 1000. */
  housekeepingMs?: number;
  /** other_config:forward-bpdu. */
  forwardBpdu?: boolean;
  /** One line per problem (thread failures, credits of unknown rules...). */
  log?: (line: string) => void;
}

/** What `addPort` takes: a datapath port (created unless the datapath has one of that name) and its bridge settings. */
export interface OfprotoPortSpec {
  name: string;
  /** netdev type (memory, pcap-file, system). Needed when the datapath has no port of that name. */
  type?: string;
  options?: Readonly<Record<string, string>>;
  /** Requested OpenFlow port (1..65279). Default: the odp port number if free, else the lowest free. */
  ofport?: number;
  /** Requested odp port number. */
  odpPort?: number;
  vlanMode?: VlanMode;
  tag?: number;
  trunks?: readonly number[];
  noFlood?: boolean;
  noForward?: boolean;
  noReceive?: boolean;
}

/** A bridge port as `ports()` lists it. */
export interface OfprotoPortInfo {
  name: string;
  ofport: number;
  odpPort: number;
  type: string;
  vlanMode: VlanMode;
  /** Access or native VLAN, or null. */
  tag: number | null;
  /** Trunk VLANs (empty: all, for trunk modes). */
  trunks: number[];
}

export interface FlowModOptions {
  /** Port names allowed in the text (default: the bridge's). */
  strict?: boolean;
}

export interface DumpFlowsOptions {
  /** Print port names (ovs-ofctl --names). */
  names?: boolean;
  /** Include statistics (default true; --no-stats prints none). */
  stats?: boolean;
  /** Print flags and importance (OpenFlow 1.3+ dumps). */
  showFlags?: boolean;
  strict?: boolean;
}

/** Handler and upcall figures (`tsvs upcall stats`): per handler thread and per port. */
export interface HandlerStatsSnapshot {
  handlers: HandlerThreadStats[];
  ports: Array<HandlerPortStats & { name: string }>;
}

type PacketInListener = (p: PacketIn) => void;

export class Ofproto {
  readonly dp: Datapath;
  readonly name: string;
  readonly tables: OfTables;
  readonly fdb: SharedMacTable;
  readonly ukeys: UkeyTable;
  private readonly opts: OfprotoOptions;
  private readonly log: (line: string) => void;
  private tun: OfprotoTunables;
  private bridge: BridgePorts;
  private readonly history: FlowMod[][] = [];
  private handlers_: Handlers | null = null;
  private revalidators_: Revalidators | null = null;
  private readonly listeners = new Set<PacketInListener>();
  private readonly threadListeners = new Set<(e: HandlerThreadEvent) => void>();
  private readonly revalThreadListeners = new Set<(e: RevalidatorThreadEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private started = false;
  private closed = false;
  private readonly nTables: number;
  /** Unknown rule ids met while crediting (rules gone long ago). */
  lostCredits = 0;

  /** Makes the bridge over `dp` (no thread runs until `start`). Throws OfprotoError on bad options. */
  constructor(dp: Datapath, opts: OfprotoOptions = {}) {
    this.dp = dp;
    this.opts = opts;
    this.name = opts.name ?? dp.name;
    this.log = opts.log ?? (() => undefined);
    this.nTables = opts.nTables ?? 255;
    this.tun = {
      ...DEFAULT_REVAL_TUNABLES, 'mac-aging-time': MAC_ENTRY_DEFAULT_IDLE_TIME, 'mac-table-size': MAC_DEFAULT_MAX, ...opts.tunables,
    };
    this.tables = new OfTables({ nTables: this.nTables });
    this.fdb = SharedMacTable.create({
      idleTime: this.tun['mac-aging-time'], maxEntries: this.tun['mac-table-size'],
      ...(opts.fdbCapacity !== undefined ? { capacity: opts.fdbCapacity } : {}),
    });
    this.ukeys = UkeyTable.create({ capacity: dp.table.capacity });
    const local = dp.portQueryByNumber(0);
    const ports: PortConfig[] = local ? [localPortConfig(local.name, 0)] : [];
    this.bridge = new BridgePorts({ name: this.name, ports, ...(opts.forwardBpdu ? { forwardBpdu: true } : {}) });
  }

  /** Creates and starts a bridge. */
  static async open(dp: Datapath, opts: OfprotoOptions = {}): Promise<Ofproto> {
    return new Ofproto(dp, opts).start();
  }

  /**
   * Starts the revalidator and handler threads and the housekeeping timer. Every datapath port
   * other than the local one must be added with `addPort` to be a bridge port (its upcalls are
   * read meanwhile, and dropped by translation: no such bridge port).
   */
  async start(): Promise<this> {
    if (this.started) return this;
    this.started = true;
    try {
      this.revalidators_ = await Revalidators.start({
        flowTable: this.dp.table, ukeys: this.ukeys, nThreads: this.opts.revalidators ?? 1,
        translator: { module: BRIDGE_TRANSLATOR_MODULE, init: () => this.replicaInit() },
        tunables: {
          'max-idle': this.tun['max-idle'], 'flow-limit': this.tun['flow-limit'],
          'max-revalidator': this.tun['max-revalidator'], 'min-revalidate-pps': this.tun['min-revalidate-pps'],
        },
        onCredits: (c) => this.credit(c), dpName: `netdev@${this.dp.name}`, timer: this.opts.revalidatorTimer ?? true, log: this.log,
        onThreadEvent: (e) => {
          for (const fn of this.revalThreadListeners) {
            try {
              fn(e);
            } catch (err) {
              this.log(`thread event listener: ${String(err)}`);
            }
          }
        },
      });
      this.handlers_ = await Handlers.start({
        dp: this.dp, ukeys: this.ukeys.sab, replicaInit: () => this.replicaInit(), n: this.opts.handlers ?? 1,
        cfg: this.opts.handlerConfig ?? {}, log: this.log,
        onPacketIn: (items) => this.deliver(items), onCredits: (c) => this.creditHandler(c), onKick: () => this.macKick(),
        onThreadEvent: (e) => {
          for (const fn of this.threadListeners) {
            try {
              fn(e);
            } catch (err) {
              this.log(`thread event listener: ${String(err)}`);
            }
          }
        },
      });
    } catch (e) {
      await this.close();
      throw e;
    }
    const period = this.opts.housekeepingMs ?? 1000;
    this.timer = setInterval(() => this.housekeeping(), period);
    this.timer.unref();
    return this;
  }

  private get handlers(): Handlers {
    if (!this.handlers_) throw new OfprotoError(`bridge ${this.name} is not started`);
    return this.handlers_;
  }

  private get revalidators(): Revalidators {
    if (!this.revalidators_) throw new OfprotoError(`bridge ${this.name} is not started`);
    return this.revalidators_;
  }

  private serialize<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new OfprotoError(`bridge ${this.name} is closed`));
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** What a new translating thread starts from. */
  private replicaInit(): ReplicaInit {
    return { nTables: this.nTables, bridge: this.bridge.config as BridgeConfig, fdb: this.fdb.sab, history: this.history };
  }

  /** Sends a change to every replica, in one order, and kicks the revalidators. */
  private broadcast(u: ReplicaUpdate): void {
    this.handlers_?.broadcast(u);
    this.revalidators_?.update(u);
  }

  // ---- ports ----

  /** The bridge's port model (immutable snapshot). */
  get bridgePorts(): BridgePorts {
    return this.bridge;
  }

  /** Bridge ports in configuration order. */
  ports(): OfprotoPortInfo[] {
    return this.bridge.list.map((p) => ({
      name: p.name, ofport: p.ofport, odpPort: p.odpPort, type: this.dp.portQueryByNumber(p.odpPort)?.type ?? 'unknown',
      vlanMode: p.vlanMode, tag: p.config.tag ?? null, trunks: [...(p.config.trunks ?? [])],
    }));
  }

  /** Resolves a port name or OpenFlow number (as text or number) to a bridge port's OpenFlow number. */
  ofportOf(port: string | number): number {
    if (typeof port === 'number' || /^[0-9]+$/.test(port)) {
      const n = Number(port);
      if (!this.bridge.ofport(n)) throw new OfprotoError(`no port ${n} on bridge ${this.name}`);
      return n;
    }
    if (port === 'LOCAL') return OFPP_LOCAL;
    const p = this.bridge.named(port);
    if (!p) throw new OfprotoError(`no port named "${port}" on bridge ${this.name}`);
    return p.ofport;
  }

  /**
   * Adds a port to the bridge: creates the datapath port (unless the datapath already has one of
   * that name), gives it an OpenFlow number, and makes a handler serve its upcall queue.
   */
  addPort(spec: OfprotoPortSpec): Promise<OfprotoPortInfo> {
    return this.serialize(async () => {
      if (typeof spec.name !== 'string' || spec.name === '') throw new OfprotoError('port name must be a non-empty string');
      if (this.bridge.named(spec.name)) throw new OfprotoError(`port "${spec.name}" is already on bridge ${this.name}`);
      let odp = this.dp.portQueryByName(spec.name)?.portNo;
      let created = false;
      if (odp === undefined) {
        if (!spec.type) throw new OfprotoError(`port "${spec.name}": no datapath port of that name and no type given`);
        odp = await this.dp.portAdd({
          name: spec.name, type: spec.type, ...(spec.options ? { options: spec.options } : {}), ...(spec.odpPort !== undefined ? { portNo: spec.odpPort } : {}),
        });
        created = true;
      }
      try {
        const ofport = spec.ofport ?? this.pickOfport(odp);
        const pc: PortConfig = {
          name: spec.name, ofport, odpPort: odp,
          ...(spec.vlanMode !== undefined ? { vlanMode: spec.vlanMode } : {}),
          ...(spec.tag !== undefined ? { tag: spec.tag } : {}),
          ...(spec.trunks !== undefined ? { trunks: spec.trunks } : {}),
          ...(spec.noFlood ? { noFlood: true } : {}), ...(spec.noForward ? { noForward: true } : {}),
          ...(spec.noReceive ? { noReceive: true } : {}),
        };
        const next = this.bridge.withPort(pc);
        this.handlers.clearPortStats(odp);
        this.bridge = next;
        this.broadcast({ type: 'ports', bridge: next.config as BridgeConfig });
        await this.handlers.portAdded(odp);
      } catch (e) {
        if (this.bridge.named(spec.name)) {
          this.bridge = this.bridge.withoutPort(spec.name);
          this.broadcast({ type: 'ports', bridge: this.bridge.config as BridgeConfig });
        }
        if (created) await this.dp.portDel(odp).catch(() => undefined);
        throw e;
      }
      return this.ports().find((p) => p.name === spec.name)!;
    });
  }

  private pickOfport(odp: number): number {
    if (odp >= 1 && odp < OFPP_MAX && !this.bridge.ofport(odp)) return odp;
    for (let n = 1; n < OFPP_MAX; n++) if (!this.bridge.ofport(n)) return n;
    throw new OfprotoError('no free OpenFlow port number');
  }

  /**
   * Removes a port from the bridge and deletes its datapath port (the local port cannot be
   * removed). Its MAC entries are flushed and the revalidators kicked.
   */
  delPort(name: string): Promise<void> {
    return this.serialize(async () => {
      const p = this.bridge.named(name);
      if (!p) throw new OfprotoError(`no port named "${name}" on bridge ${this.name}`);
      if (p.odpPort === 0) throw new OfprotoError(`cannot delete the local port ${name}`);
      await this.handlers.portRemoving(p.odpPort);
      this.bridge = this.bridge.withoutPort(name);
      this.broadcast({ type: 'ports', bridge: this.bridge.config as BridgeConfig });
      this.fdb.flushPort(p.ofport);
      if (this.dp.portQueryByNumber(p.odpPort)) await this.dp.portDel(p.odpPort);
    });
  }

  /** Changes a port's VLAN or flood settings (OVS flushes the MACs learned on a reconfigured bundle). */
  setPortConfig(name: string, cfg: Partial<Omit<PortConfig, 'name' | 'odpPort' | 'ofport'>>): void {
    const p = this.bridge.named(name);
    if (!p) throw new OfprotoError(`no port named "${name}" on bridge ${this.name}`);
    const pc: PortConfig = { ...p.config, ...cfg, name: p.name, odpPort: p.odpPort, ofport: p.ofport };
    this.bridge = this.bridge.withPort(pc);
    this.broadcast({ type: 'ports', bridge: this.bridge.config as BridgeConfig });
    this.fdb.flushPort(p.ofport);
  }

  // ---- OpenFlow tables ----

  private parse(text: string, command: FlowModCommand): FlowMod {
    return parseFlowMod(text, command, { portMap: this.bridge.portMap });
  }

  /** Applies flow mods as one atomic change (one version), replicates it, kicks the revalidators. */
  flowMods(mods: readonly FlowMod[]): ApplyResult {
    if (this.closed) throw new OfprotoError(`bridge ${this.name} is closed`);
    const list = [...mods];
    const r = this.tables.apply(list);
    this.history.push(list);
    this.broadcast({ type: 'flow-mods', mods: list });
    return r;
  }

  /** `ovs-ofctl add-flow`. */
  addFlow(text: string): ApplyResult {
    return this.flowMods([this.parse(text, 'add')]);
  }

  /** `ovs-ofctl add-flows`: every line one rule, all in one change (blank lines and #comments skipped). */
  addFlows(texts: readonly string[]): ApplyResult {
    const mods = texts.map((t) => t.trim()).filter((t) => t !== '' && !t.startsWith('#')).map((t) => this.parse(t, 'add'));
    return this.flowMods(mods);
  }

  /** `ovs-ofctl mod-flows [--strict]`. */
  modFlows(text: string, opts: FlowModOptions = {}): ApplyResult {
    return this.flowMods([this.parse(text, opts.strict ? 'modify_strict' : 'modify')]);
  }

  /** `ovs-ofctl del-flows [--strict] [FLOW]` (no flow: every rule). */
  delFlows(text = '', opts: FlowModOptions = {}): ApplyResult {
    return this.flowMods([this.parse(text, opts.strict ? 'delete_strict' : 'delete')]);
  }

  /** `ovs-ofctl dump-flows [--strict] [FLOW]` lines (header-less, one rule per line). */
  dumpFlows(text = '', opts: DumpFlowsOptions = {}): string[] {
    const fm = this.parse(text, opts.strict ? 'delete_strict' : 'delete');
    const criteria = {
      table: fm.table, key: fm.key, mask: fm.mask, strict: !!opts.strict, priority: fm.priority,
      cookie: fm.cookie, cookieMask: fm.cookieMask, outPort: fm.outPort,
    };
    return this.tables.dumpFlows(criteria, {
      showStats: opts.stats ?? true, showFlags: !!opts.showFlags, ...(opts.names ? { portMap: this.bridge.portMap } : {}),
    });
  }

  /** Rules in the tables now. */
  get nRules(): number {
    return this.tables.nRules();
  }

  private credit(c: StatsCredits): void {
    for (let i = 0; i < c.ids.length; i++) {
      if (!this.tables.creditStats(c.ids[i]!, c.packets[i]!, c.bytes[i]!, c.used[i]!)) this.lostCredits++;
    }
  }

  private creditHandler(c: HandlerCredits): void {
    for (let i = 0; i < c.ids.length; i++) {
      if (!this.tables.creditStats(c.ids[i]!, c.packets[i]!, c.bytes[i]!, c.used)) this.lostCredits++;
    }
  }

  /** Removes rules whose idle or hard timeout passed, as one change replicated as delete_strict mods. */
  expireRules(nowMs: number = Date.now()): number {
    const gone = this.tables.expire(nowMs);
    if (gone.length === 0) return 0;
    const mods: FlowMod[] = gone.map(({ rule: r }) => ({
      command: 'delete_strict', table: r.table, priority: r.priority, key: r.key, mask: r.mask, cookie: 0n, cookieMask: 0n,
      newCookie: null, modifyCookie: false, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: 0, outPort: OFPP_NONE,
      actions: [], dropped: [],
    }));
    this.history.push(mods);
    this.broadcast({ type: 'flow-mods', mods });
    return gone.length;
  }

  private housekeeping(): void {
    try {
      this.expireRules();
      if (this.fdb.run()) this.revalidators_?.kick();
      // Refresh MACs seen only on the fast path a few times per aging period.
      if (!this.refreshing && performance.now() - this.lastRefreshAt >= (this.fdb.idleTime * 1000) / 4) {
        void this.refreshMacs().catch((e) => this.log(`MAC refresh: ${String(e)}`));
      }
    } catch (e) {
      this.log(`housekeeping: ${String(e)}`);
    }
  }

  private refreshing = false;
  private lastRefreshAt = performance.now();
  /** Datapath clock of the last refresh pass: flows used after it are active. */
  private lastRefreshDp = dpNowMs();

  /**
   * Re-learns the sources of datapath flows used since the last pass (OVS replays NORMAL's learning
   * from each flow's xlate cache when its stats move, XC_NORMAL): a host whose packets only hit
   * datapath flows would otherwise age out of the MAC table after mac-aging-time, and traffic to it
   * would be flooded from then on. Each active flow's key is translated with side effects (NORMAL
   * learns exactly as for a packet of the flow). Runs in batches of 256 flows between event-loop
   * turns; the housekeeping timer starts it every mac-aging-time / 4. Returns the flows translated.
   */
  async refreshMacs(): Promise<number> {
    if (this.refreshing) return 0;
    this.refreshing = true;
    this.lastRefreshAt = performance.now();
    const since = this.lastRefreshDp;
    this.lastRefreshDp = dpNowMs();
    let n = 0;
    try {
      const d = this.dp.flowDump({ terse: false });
      const flow = new Uint32Array(FLOW_WORDS);
      for (let batch = d.next(256); batch.length > 0 && !this.closed; batch = d.next(256)) {
        for (const f of batch) {
          if (!('key' in f) || !(f.stats.used > since)) continue;
          const ofport = this.bridge.odpToOfport(f.key[W_IN_PORT]!);
          if (ofport < 0) continue;
          flow.set(f.key);
          flow[W_IN_PORT] = ofport;
          xlateFlow(this.env(), { flow, sideEffects: true });
          n++;
        }
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.refreshing = false;
    }
    if (this.fdb.needRevalidate) this.macKick();
    return n;
  }

  /** A handler changed the MAC table: kick the revalidators (at most every 5 ms, as rounds are spaced anyway). */
  private macKick(): void {
    if (this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      this.fdb.clearKick();
      if (this.fdb.takeNeedRevalidate()) this.revalidators_?.kick();
    }, 1);
  }

  // ---- trace, fdb ----

  private env(): { ports: BridgePorts; tables: OfTables; ml: MacLearning } {
    return { ports: this.bridge, tables: this.tables, ml: this.fdb as unknown as MacLearning };
  }

  /** `ofproto/trace BRIDGE FLOW` text (no side effects). Throws TraceError with OVS's messages. */
  trace(flowText: string, opts: { names?: boolean } = {}): TraceOutput {
    return traceFlow(this.env(), flowText, opts);
  }

  /** `ofproto/trace BRIDGE in_port=P PACKET`: traces a frame (NORMAL learns from it, as OVS). */
  tracePacket(frame: Uint8Array, inPort: string | number, opts: { names?: boolean } = {}): TraceOutput {
    return tracePacket(this.env(), frame, this.ofportOf(inPort), opts);
  }

  /**
   * Traces frames in order (`tsvs trace --pcap FILE`: the caller reads the capture), each with side
   * effects as a packet trace. One entry per frame: the trace text, or the one-line error of a frame
   * that cannot be traced (e.g. too short for Ethernet).
   */
  traceFrames(frames: Iterable<Uint8Array>, inPort: string | number, opts: { names?: boolean } = {}): Array<{ text: string } | { error: string }> {
    const port = this.ofportOf(inPort);
    const out: Array<{ text: string } | { error: string }> = [];
    for (const f of frames) {
      try {
        out.push({ text: tracePacket(this.env(), f, port, opts).text });
      } catch (e) {
        out.push({ error: e instanceof Error ? e.message : String(e) });
      }
    }
    return out;
  }

  /** `fdb/show` text. */
  fdbShow(opts: { names?: boolean } = {}): string {
    return formatSharedFdbShow(this.fdb, opts.names ? this.bridge.portMap : undefined);
  }

  /** `fdb/stats-show` text. */
  fdbStats(): string {
    return formatSharedFdbStats(this.fdb, this.name);
  }

  /** `fdb/flush`: forgets every learned MAC and kicks the revalidators. */
  fdbFlush(): void {
    this.fdb.flush();
    if (this.fdb.takeNeedRevalidate()) this.revalidators_?.kick();
  }

  // ---- upcalls, revalidators, threads ----

  upcallShowData(): UpcallShowData {
    return this.revalidators.show();
  }

  /** `upcall/show` text (OVS's part, then tsvs's additions). */
  upcallShow(): string {
    return formatUpcallShow(this.revalidators.show());
  }

  /** `upcall/show --json`, with the handler figures under `handlers`. */
  upcallShowJson(): Record<string, unknown> {
    return { ...upcallShowJson(this.revalidators.show()), handlers: this.handlerStats() };
  }

  /** Per handler and per port upcall figures. */
  handlerStats(): HandlerStatsSnapshot {
    const names = new Map(this.dp.portList().map((p) => [p.portNo, p.name]));
    return {
      handlers: this.handlers.threadStats(),
      ports: this.handlers.portStats().map((p) => ({ ...p, name: names.get(p.portNo) ?? String(p.portNo) })),
    };
  }

  /** Text of `handlerStats()`: one line per handler, then one per port. */
  handlerStatsText(): string {
    const s = this.handlerStats();
    const c = (x: HandlerThreadStats['counters']): string =>
      `received ${x.received} (miss ${x.miss}, action ${x.action}) handled ${x.handled} installed ${x.installed} exists ${x.exists} ` +
      `failed ${x.failed} flow_limit ${x.flow_limit} shed ${x.shed} packet_in ${x.packet_in}`;
    const l = (x: HandlerThreadStats['latency']): string =>
      `latency us: p50 ${x.p50Us.toFixed(0)} p90 ${x.p90Us.toFixed(0)} p99 ${x.p99Us.toFixed(0)} max ${x.maxUs.toFixed(0)}`;
    let out = '';
    for (const h of s.handlers) out += `handler ${h.id} (thread ${h.threadId}, ports ${h.ports.join(',') || '-'}): ${c(h.counters)}; ${l(h.latency)}\n`;
    for (const p of s.ports) {
      out += `port ${p.name} (${p.portNo}, handler ${p.handler}): queued ${p.queued} queue_dropped ${p.queueDropped} pending ${p.pending}; ` +
        `${c(p.counters)}; ${l(p.latency)}\n`;
    }
    return out;
  }

  /** `upcall/set-flow-limit N` (the next round clamps it to [1000, flow-limit]). */
  setFlowLimit(n: number): void {
    this.revalidators.setFlowLimit(n);
  }

  /**
   * `revalidator/wait`: resolves after a round that started after the call has finished. A MAC
   * table change not yet turned into a kick (a handler's kick event may still be on its way) moves
   * the revalidation sequence first, as OVS's main loop runs type_run (need_revalidate) before it
   * serves the command: the round then re-translates what that change affects.
   */
  revalidatorWait(): Promise<void> {
    if (this.fdb.takeNeedRevalidate()) this.revalidators.kick();
    return this.revalidators.wait({ kick: true });
  }

  /** `revalidator/purge`: deletes every datapath flow with a ukey, pushing its stats. */
  revalidatorPurge(): Promise<void> {
    return this.revalidators.purge();
  }

  revalidatorPause(): Promise<void> {
    return this.revalidators.pause();
  }

  revalidatorResume(): void {
    this.revalidators.resume();
  }

  /** Kicks a revalidation round (tables or MACs changed outside the usual paths). */
  revalidate(): void {
    this.revalidators.kick();
  }

  get nHandlers(): number {
    return this.handlers_?.count ?? 0;
  }

  get nRevalidators(): number {
    return this.revalidators_?.nThreads ?? 0;
  }

  /** Changes thread counts at run time (handlers hand their queues over safely; revalidators between rounds). */
  async setThreads(n: { handlers?: number; revalidators?: number }): Promise<void> {
    if (n.handlers !== undefined) await this.handlers.setCount(n.handlers);
    if (n.revalidators !== undefined) await this.revalidators.setThreads(n.revalidators);
  }

  /** Handler threads: id (slot), worker threadId (null while being replaced), restarts. */
  handlerThreads(): Array<{ id: number; threadId: number | null; restarts: number }> {
    return this.handlers.threads();
  }

  /** Handler thread deaths and replacements (a dead handler is replaced at once, same id and queues). Returns the unsubscribe function. */
  onHandlerThreadEvent(fn: (e: HandlerThreadEvent) => void): () => void {
    this.threadListeners.add(fn);
    return () => this.threadListeners.delete(fn);
  }

  /** Fault injection: handler `id` dies ('throw': uncaught exception; 'terminate'). Returns its threadId. */
  crashHandler(id: number, how: 'throw' | 'terminate'): number {
    return this.handlers.crash(id, how);
  }

  /** Revalidator threads by slot: worker threadId (null while being replaced), restarts. */
  revalidatorThreads(): Array<{ id: number; threadId: number | null; restarts: number }> {
    return this.revalidators.threads();
  }

  /**
   * Revalidator thread deaths and replacements: a dead revalidator is replaced at once (between
   * rounds, paused or not) in the same slot; its ukeys are in shared memory. Returns the unsubscribe function.
   */
  onRevalidatorThreadEvent(fn: (e: RevalidatorThreadEvent) => void): () => void {
    this.revalThreadListeners.add(fn);
    return () => this.revalThreadListeners.delete(fn);
  }

  /** Fault injection: revalidator `id` dies ('throw': uncaught exception; 'terminate'). Returns its threadId. RangeError if not running. */
  crashRevalidator(id: number, how: 'throw' | 'terminate'): number {
    return this.revalidators.crash(id, how);
  }

  /** Which handler serves each port's upcall queue (odp port → handler id). */
  handlerAssignment(): Map<number, number> {
    return this.handlers.assignment();
  }

  /** Changes handler tunables (quota, batch sizes, shedding). */
  setHandlerConfig(cfg: Partial<HandlerConfig>): Promise<void> {
    return this.handlers.setConfig(cfg);
  }

  /** Resolves once every handler has applied every change sent before. */
  syncHandlers(): Promise<void> {
    return this.handlers.sync();
  }

  get tunables(): Readonly<OfprotoTunables> {
    return this.tun;
  }

  /** Changes tunables (revalidator ones at the next round; MAC ones at once). */
  setTunables(t: Partial<OfprotoTunables>): void {
    this.tun = { ...this.tun, ...t };
    if (t['mac-aging-time'] !== undefined) this.fdb.setIdleTime(t['mac-aging-time']);
    if (t['mac-table-size'] !== undefined) this.fdb.setMaxEntries(t['mac-table-size']);
    const r: Partial<RevalTunables> = {};
    for (const k of ['max-idle', 'flow-limit', 'max-revalidator', 'min-revalidate-pps'] as const) if (t[k] !== undefined) r[k] = t[k];
    if (Object.keys(r).length > 0) this.revalidators_?.setTunables(r);
  }

  // ---- packet-ins ----

  /** Subscribes to packet-ins (every bridge packet-in, in delivery order per handler). Returns the unsubscribe function. */
  onPacketIn(fn: PacketInListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Packet-ins as an async iterator (`for await`); `signal` ends it. Buffers at most `max`
   * (default 1000) undelivered packet-ins, dropping the oldest beyond that.
   */
  async *packetIns(opts: { signal?: AbortSignal; max?: number } = {}): AsyncGenerator<PacketIn> {
    const q: PacketIn[] = [];
    const max = opts.max ?? 1000;
    let wake: (() => void) | null = null;
    const off = this.onPacketIn((p) => {
      q.push(p);
      if (q.length > max) q.shift();
      wake?.();
    });
    const onAbort = (): void => wake?.();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      while (!opts.signal?.aborted && !this.closed) {
        if (q.length === 0) await new Promise<void>((r) => { wake = r; });
        wake = null;
        while (q.length > 0) yield q.shift()!;
      }
    } finally {
      off();
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private deliver(items: PacketIn[]): void {
    for (const p of items) {
      for (const fn of this.listeners) {
        try {
          fn(p);
        } catch (e) {
          this.log(`packet-in listener: ${String(e)}`);
        }
      }
    }
  }

  /** Formats an OpenFlow port as dump-flows does (names when `names`). */
  formatPort(port: number, names = false): string {
    return formatPort(port, names ? this.bridge.portMap : undefined);
  }

  /** Stops the threads and timers (the datapath stays open: the caller owns it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.timer = this.kickTimer = null;
    await this.chain.catch(() => undefined);
    await this.handlers_?.stop();
    await this.revalidators_?.stop();
    for (const fn of this.listeners) this.listeners.delete(fn);
  }
}


