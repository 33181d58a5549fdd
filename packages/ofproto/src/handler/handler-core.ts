/**
 * One handler's work (OVS ofproto/ofproto-dpif-upcall.c udpif_upcall_handler → recv_upcalls →
 * handle_upcalls), independent of the thread it runs in (./handler-worker.ts runs it; tests can
 * run it in-thread).
 *
 * A round:
 * 1. Gather, ACTION upcalls first: visit the handler's ports round-robin, starting one further
 *    each round, taking at most `quota` upcalls from a port per visit from its ACTION rings, until
 *    `maxActions` are gathered or a pass finds none; then the same from the MISS rings until
 *    `maxBatch` (64, UPCALL_MAX_BATCH) MISS upcalls. The datapath queues the two kinds on separate
 *    rings per port (dpif upcall-queue.ts), so a MISS storm that keeps a port's MISS rings full
 *    neither drops nor delays its ACTION upcalls (OVS dpif.h "Upcall Queuing and Ordering").
 * 2. ACTION upcalls: controller cookies become packet-ins; slow-path cookies are translated (with
 *    side effects) and executed without installing anything (OVS SLOW_PATH_UPCALL); others are
 *    delivered as 'userspace' packet-ins.
 * 3. MISS upcalls, each at the table version of this round (the replica changes only between
 *    rounds): translate with side effects (NORMAL learns into the shared MAC table) → datapath
 *    key/mask (`datapathMegaflow`) → UFID (./megaflow-ufid.ts: the same for the same megaflow) → unless the
 *    datapath is at the flow limit, create the ukey (`UkeyTable.install`, revalidation sequence
 *    read before translating) and queue a put (CREATE). At the flow limit the packet is still
 *    executed, nothing installed (OVS should_install_flow; counted as flow_limit, which OVS's
 *    handle_packet_upcall reports as "miss with failed upcall").
 * 4. One `operate` with every put (one writer lock hold), then `installFinish` of each ukey
 *    (OPERATIONAL, or EVICTED when the put failed: EEXIST because another handler's overlapping
 *    flow is there is normal), then every packet is executed in arrival order (puts before
 *    executes, as OVS's single dpif_operate does) and the outputs sent per port.
 * Translated packets are credited to the rules they ran (OVS credits upcall packets at
 * translation); the credits, packet-ins and MAC-table kicks are collected for the thread to post.
 *
 * Allocation: translation allocates its result (as OVS's xlate does); the gather, install and
 * execute steps reuse preallocated arrays.
 */
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { PacketPool, META_WORDS, M_LEN } from '@tsvs/shm';
import { attachNetdev, type Netdev, type NetdevDescriptor } from '@tsvs/netdev';
import {
  DPIF_FP_CREATE, DPIF_UC_ACTION, FlowTable, MAX_ODP_PORTS, UpcallArea, UpcallReader, dpNowMs,
  encodeOdpActions, ODP_ACTIONS_MAX_BYTES, type FlowErrno, type FlowOp, type OdpAction, type UpcallQueueDescriptor,
} from '@tsvs/dpif';
import type { PacketPoolDescriptor } from '@tsvs/shm';
import { UkeyTable, type UkeyInstall } from '../revalidator/ukey-table.js';
import { SlowPathReplica, type ReplicaInit, type ReplicaUpdate } from '../ofproto/replica.js';
import { newXlateResult, xlateFlow, type XlateResult } from '../xlate/xlate.js';
import { odpActionsFit, odpActionsSize, type XlateAction } from '../xlate/odp-actions.js';
import { datapathMegaflow } from '../xlate/datapath-mask.js';
import {
  CONTROLLER_COOKIE_BYTES, SLOW_PATH_COOKIE_BYTES, USER_ACTION_COOKIE_CONTROLLER, USER_ACTION_COOKIE_SLOW_PATH,
  decodeControllerCookie,
} from '../xlate/cookie.js';
import { HandlerExec } from './handler-exec.js';
import { megaflowUfid } from './megaflow-ufid.js';
import { ActionCache } from './action-cache.js';
import type { HandlerConfig, HandlerCredits } from './handler-messages.js';
import type { PacketIn } from './packet-in.js';
import {
  HandlerStats, S_ACTION, S_EXEC_DROPPED, S_EXISTS, S_FAILED, S_FLOW_LIMIT, S_HANDLED, S_INSTALLED, S_MISS,
  S_PACKET_IN, S_RECEIVED, S_ROUNDS,
} from './handler-stats.js';

/** What a HandlerCore attaches to (everything structured-clonable). */
export interface HandlerCoreInit {
  handlerId: number;
  bank: SharedArrayBuffer | null;
  bellSlot: number;
  pool: PacketPoolDescriptor;
  upcallArea: SharedArrayBuffer;
  flowTable: SharedArrayBuffer;
  ukeys: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  replica: ReplicaInit;
  netdevs: Array<{ portNo: number; netdev: NetdevDescriptor }>;
  txq: number;
  cfg: HandlerConfig;
}

interface PortQ {
  portNo: number;
  reader: UpcallReader;
  line: number;
}

const CAP = 256;
const ACTION_CAP = 256;

export class HandlerCore {
  readonly id: number;
  readonly pool: PacketPool;
  readonly area: UpcallArea;
  readonly flows: FlowTable;
  readonly ukeys: UkeyTable;
  readonly stats: HandlerStats;
  readonly replica: SlowPathReplica;
  cfg: HandlerConfig;
  private readonly bellSlot: number;
  private readonly netdevs: Array<Netdev | undefined> = new Array<Netdev | undefined>(MAX_ODP_PORTS);
  private ports: PortQ[] = [];
  private next = 0;
  private readonly exec: HandlerExec;
  private readonly hLine: number;
  // Gather scratch.
  private readonly tmp = new Uint32Array(CAP);
  private readonly mBuf = new Uint32Array(CAP);
  private readonly mLine = new Int32Array(CAP);
  /** Enqueue time of each gathered miss (ms, datapath clock; the time taken if it was not stamped). */
  private readonly mT0 = new Float64Array(CAP);
  private nMiss = 0;
  private readonly aBuf = new Uint32Array(ACTION_CAP);
  private readonly aLine = new Int32Array(ACTION_CAP);
  private nAct = 0;
  // Miss processing scratch.
  private readonly flow = new Uint32Array(FLOW_WORDS);
  private readonly keys = new Uint32Array(CAP * FLOW_WORDS);
  private readonly masks = new Uint32Array(CAP * FLOW_WORDS);
  private readonly ufids = new Uint32Array(CAP * 4);
  private readonly ukeyIdx = new Int32Array(CAP);
  private readonly ukeyGen = new Int32Array(CAP);
  private readonly putOf = new Int32Array(CAP);
  /** 1 when upcall i was translated (its failures are exec drops), 0 when already counted as failed. */
  private readonly translated = new Uint8Array(CAP);
  private readonly execActs: Array<Uint8Array | null> = new Array<Uint8Array | null>(CAP).fill(null);
  private readonly ops: FlowOp[] = [];
  /** Error of each put of the batch (operateErrors: no result objects). */
  private readonly putErrs: Array<0 | FlowErrno> = [];
  /** Per batch slot: its UFID (a view into `ufids`) and its put (only `actions` changes). */
  private readonly ufidViews: Uint32Array[] = [];
  private readonly putOps: Array<FlowOp & { type: 'put' }> = [];
  /** Rule id arrays by length (the ukey table copies them). */
  private readonly ruleIds: Int32Array[] = [];
  private readonly installArg: UkeyInstall = {
    ufid: new Uint32Array(4), key: this.keys, keyBase: 0, mask: this.masks, maskBase: 0, actions: new Uint8Array(0),
    rules: new Int32Array(0), version: 0, revalSeq: 0, nowMs: 0,
  };
  private readonly actionCache = new ActionCache();
  /**
   * Whether a control request (a replica update among them) has been posted to this core's thread
   * and not applied yet. The thread running the core sets it (./handler-worker.ts: its ctl word
   * moved); default: never.
   */
  controlPending: () => boolean = () => false;
  /** Storage every miss's translation reuses (consumed before the next one). */
  private readonly xlateOut = newXlateResult();
  // Results for the thread to post.
  packetIns: PacketIn[] = [];
  private credits = new Map<number, [number, number]>();
  /** Set when this handler's translations changed the MAC table since the last `takeKick`. */
  private kick = false;

  constructor(init: HandlerCoreInit) {
    this.id = init.handlerId;
    this.cfg = { ...init.cfg };
    this.bellSlot = init.bellSlot;
    this.pool = PacketPool.attach(init.pool);
    this.area = UpcallArea.attach(init.upcallArea);
    this.flows = FlowTable.attach(init.flowTable);
    this.ukeys = UkeyTable.attach(init.ukeys);
    this.stats = HandlerStats.attach(init.stats);
    this.replica = new SlowPathReplica(init.replica);
    this.hLine = this.stats.handlerLine(this.id);
    for (const n of init.netdevs) this.addNetdev(n.portNo, n.netdev);
    for (let i = 0; i < CAP; i++) {
      const ufid = this.ufids.subarray(i * 4, i * 4 + 4);
      this.ufidViews.push(ufid);
      this.putOps.push({
        type: 'put', flags: DPIF_FP_CREATE, key: this.keys, keyBase: i * FLOW_WORDS, mask: this.masks, maskBase: i * FLOW_WORDS,
        actions: new Uint8Array(0), ufid,
      });
    }
    this.exec = new HandlerExec(this.pool, this.netdevs, init.txq, (b, o, l, pid, ud, udOff, udLen, inPort) =>
      this.userspace(b, o, l, pid, ud, udOff, udLen, inPort));
  }

  // ---- configuration (between rounds) ----

  addNetdev(portNo: number, desc: NetdevDescriptor): void {
    this.netdevs[portNo]?.close();
    this.netdevs[portNo] = attachNetdev(desc, this.pool);
  }

  delNetdev(portNo: number): void {
    this.netdevs[portNo]?.close();
    this.netdevs[portNo] = undefined;
  }

  /** Starts serving a port's upcall queue (the previous reader has let go of it). */
  attach(desc: UpcallQueueDescriptor): void {
    this.detach(desc.portNo);
    const reader = UpcallReader.attach(desc, this.pool, this.area);
    reader.bindDoorbell(this.bellSlot);
    this.ports.push({ portNo: desc.portNo, reader, line: this.stats.portLine(desc.portNo) });
    this.ports.sort((a, b) => a.portNo - b.portNo);
  }

  /** Stops serving a port's queue; upcalls still queued stay for the next reader. */
  detach(portNo: number): void {
    const i = this.ports.findIndex((p) => p.portNo === portNo);
    if (i < 0) return;
    this.ports[i]!.reader.bindDoorbell(-1);
    this.ports.splice(i, 1);
    if (this.next >= this.ports.length) this.next = 0;
  }

  /** Odp ports whose queues this handler serves, ascending. */
  get portNos(): number[] {
    return this.ports.map((p) => p.portNo);
  }

  update(u: ReplicaUpdate): void {
    this.replica.apply(u);
  }

  /** True when some served queue has upcalls waiting. */
  hasWork(): boolean {
    for (const p of this.ports) if (!p.reader.isEmpty()) return true;
    return false;
  }

  /** Credits gathered since the last call, or null. */
  takeCredits(): HandlerCredits | null {
    const c = this.credits;
    if (c.size === 0) return null;
    this.credits = new Map();
    const ids = new Int32Array(c.size), packets = new Float64Array(c.size), bytes = new Float64Array(c.size);
    let i = 0;
    for (const [id, [p, b]] of c) {
      ids[i] = id;
      packets[i] = p;
      bytes[i] = b;
      i++;
    }
    return { ids, packets, bytes, used: Date.now() };
  }

  /** True once after this handler's translations changed the MAC table (learned, moved, evicted). */
  takeKick(): boolean {
    const k = this.kick;
    this.kick = false;
    return k;
  }

  /** Releases this thread's port objects and buffer cache. */
  close(): void {
    for (const p of [...this.ports]) this.detach(p.portNo);
    for (let i = 0; i < MAX_ODP_PORTS; i++) if (this.netdevs[i]) this.delNetdev(i);
    this.pool.flush();
  }

  // ---- a round ----

  /** One round (see the module comment). Returns the number of upcalls taken. */
  round(): number {
    const nPorts = this.ports.length;
    if (nPorts === 0) return 0;
    this.nMiss = 0;
    this.nAct = 0;
    let taken = 0;
    const start = this.next;
    this.next = start + 1 >= nPorts ? 0 : start + 1;
    const quota = this.cfg.quota;
    // ACTION upcalls first: their own rings, their own budget.
    const maxActions = Math.min(this.cfg.maxActions, ACTION_CAP);
    for (;;) {
      let pass = 0;
      for (let j = 0; j < nPorts && this.nAct < maxActions; j++) {
        pass += this.gatherActions(this.ports[(start + j) % nPorts]!, Math.min(quota, maxActions - this.nAct));
      }
      taken += pass;
      if (pass === 0 || this.nAct >= maxActions) break;
    }
    const maxBatch = Math.min(this.cfg.maxBatch, CAP);
    for (;;) {
      let pass = 0;
      for (let j = 0; j < nPorts && this.nMiss < maxBatch; j++) {
        pass += this.gatherMisses(this.ports[(start + j) % nPorts]!, Math.min(quota, maxBatch - this.nMiss));
      }
      taken += pass;
      if (pass === 0 || this.nMiss >= maxBatch) break;
    }
    if (taken === 0) return 0;
    this.stats.f[this.hLine + S_ROUNDS]! += 1;
    const before = this.replica.fdb.changes;
    if (this.nAct > 0) this.handleActions();
    if (this.nMiss > 0) this.handleMisses();
    this.exec.flush();
    if (this.replica.fdb.changes !== before) this.kick = true;
    return taken;
  }

  /** Takes up to `want` ACTION upcalls from port `p`'s ACTION rings into the action list. */
  private gatherActions(p: PortQ, want: number): number {
    if (want <= 0) return 0;
    const k = p.reader.recvActions(this.aBuf, want, this.nAct);
    if (k === 0) return 0;
    for (let i = this.nAct; i < this.nAct + k; i++) this.aLine[i] = p.line;
    this.nAct += k;
    const f = this.stats.f, line = p.line, h = this.hLine;
    f[line + S_RECEIVED]! += k;
    f[line + S_ACTION]! += k;
    f[h + S_RECEIVED]! += k;
    f[h + S_ACTION]! += k;
    return k;
  }

  /**
   * Takes up to `want` upcalls from port `p`'s MISS rings into the miss list (an ACTION upcall
   * found there, which the datapath does not queue, would still be handled as one).
   */
  private gatherMisses(p: PortQ, want: number): number {
    if (want <= 0) return 0;
    const tmp = this.tmp, area = this.area, f = this.stats.f, line = p.line;
    const k = p.reader.recvMisses(tmp, want);
    if (k === 0) return 0;
    const taken = dpNowMs();
    let nm = 0;
    for (let i = 0; i < k; i++) {
      const buf = tmp[i]!;
      if (area.type(buf) === DPIF_UC_ACTION) {
        if (this.nAct < ACTION_CAP) {
          this.aBuf[this.nAct] = buf;
          this.aLine[this.nAct++] = line;
        } else {
          this.pool.free(buf);
          this.count(line, S_FAILED);
        }
      } else {
        const t = area.enqueueTime(buf);
        this.mBuf[this.nMiss] = buf;
        this.mLine[this.nMiss] = line;
        this.mT0[this.nMiss++] = t > 0 && t <= taken ? t : taken;
        nm++;
      }
    }
    f[line + S_RECEIVED]! += k;
    f[line + S_MISS]! += nm;
    f[line + S_ACTION]! += k - nm;
    const h = this.hLine;
    f[h + S_RECEIVED]! += k;
    f[h + S_MISS]! += nm;
    f[h + S_ACTION]! += k - nm;
    return k;
  }

  private count(line: number, what: number, n = 1): void {
    this.stats.f[line + what]! += n;
    this.stats.f[this.hLine + what]! += n;
  }

  /** Copies upcall `buf`'s key into `this.flow` with in_port as the OpenFlow port; -1 if the port is not on the bridge. */
  private loadFlow(buf: number): number {
    const area = this.area, flow = this.flow, u = area.u32, kb = area.keyBase(buf);
    for (let i = 0; i < FLOW_WORDS; i++) flow[i] = u[kb + i]!;
    const ofport = this.replica.ports.odpToOfport(flow[W_IN_PORT]!);
    if (ofport >= 0) flow[W_IN_PORT] = ofport;
    return ofport;
  }

  private credit(xr: XlateResult, bytes: number): void {
    const c = this.credits;
    for (const r of xr.rules) {
      const e = c.get(r.id);
      if (e) {
        e[0] += 1;
        e[1] += bytes;
      } else c.set(r.id, [1, bytes]);
    }
  }

  private handleActions(): void {
    const area = this.area, ab = area.bytes;
    for (let i = 0; i < this.nAct; i++) {
      const buf = this.aBuf[i]!, line = this.aLine[i]!;
      const udLen = area.userdataLength(buf), udOff = area.userdataOffset(buf);
      if (udLen === SLOW_PATH_COOKIE_BYTES && ab[udOff] === USER_ACTION_COOKIE_SLOW_PATH) {
        // A slow-path flow's packet: translate and execute in userspace, install nothing.
        if (this.loadFlow(buf) < 0) {
          this.pool.free(buf);
          this.count(line, S_FAILED);
          continue;
        }
        const xr = xlateFlow(this.replica.env, { flow: this.flow, sideEffects: true });
        const len = this.pool.meta[buf * META_WORDS + M_LEN]!;
        this.credit(xr, len);
        const acts = xr.error === 0 ? executable(xr.actions, null) : null;
        if (acts === null) {
          this.pool.free(buf);
          this.count(line, xr.error === 0 ? S_EXEC_DROPPED : S_FAILED);
        } else {
          this.exec.execute(buf, area.inPort(buf), acts);
          this.count(line, S_HANDLED);
        }
        continue;
      }
      const off = this.pool.frameOffset(buf), len = this.pool.meta[buf * META_WORDS + M_LEN]!;
      this.userspace(this.pool.data, off, len, area.pid(buf), ab, udOff, udLen, area.inPort(buf));
      this.pool.free(buf);
      this.count(line, S_HANDLED);
    }
    this.nAct = 0;
  }

  /** A `userspace` action's packet (from an ACTION upcall or met while executing): a packet-in. */
  private userspace(bytes: Uint8Array, off: number, len: number, pid: number, ud: Uint8Array, udOff: number, udLen: number, odpInPort: number): void {
    const now = Date.now();
    const inPort = Math.max(0, this.replica.ports.odpToOfport(odpInPort));
    const line = this.stats.portLine(odpInPort < MAX_ODP_PORTS ? odpInPort : 0);
    if (udLen >= CONTROLLER_COOKIE_BYTES && ud[udOff] === USER_ACTION_COOKIE_CONTROLLER) {
      const c = decodeControllerCookie(ud.subarray(udOff, udOff + udLen));
      if (!c || c.dontSend) return;
      const n = Math.min(len, c.maxLen === 0xffff ? len : c.maxLen);
      this.packetIns.push({
        kind: 'controller', inPort: c.inPort || inPort, odpInPort, reason: c.reason, tableId: c.tableId, cookie: c.ruleCookie,
        controllerId: c.controllerId, userdata: c.userdata, pid, packet: bytes.slice(off, off + n), totalLen: len,
        continuation: c.continuation, handler: this.id, timeMs: now,
      });
    } else {
      this.packetIns.push({
        kind: 'userspace', inPort, odpInPort, reason: -1, tableId: 0, cookie: 0n, controllerId: 0,
        userdata: udLen > 0 ? ud.slice(udOff, udOff + udLen) : new Uint8Array(0), pid, packet: bytes.slice(off, off + len),
        totalLen: len, continuation: false, handler: this.id, timeMs: now,
      });
    }
    this.count(line, S_PACKET_IN);
  }

  private handleMisses(): void {
    const n = this.nMiss, area = this.area, ukeys = this.ukeys, flows = this.flows, pool = this.pool;
    const keys = this.keys, masks = this.masks, ufids = this.ufids;
    // OVS reads the revalidation sequence before translating (upcall->reval_seq), and translates
    // with an xlate config at least that new. Here the control plane posts a replica update, moves
    // the ctl word, then the sequence: if a request is pending once the sequence is read, it may
    // count a change this replica has not applied yet, so the batch's ukeys take an older value
    // and the next revalidation round re-translates them.
    let revalSeq = ukeys.revalSeq;
    if (this.controlPending()) revalSeq = (revalSeq - 1) | 0;
    const version = this.replica.version;
    const flowLimit = ukeys.flowLimit;
    let nFlows = flows.flowCount;
    const nowMs = dpNowMs();
    const ops = this.ops;
    ops.length = 0;
    // The batch's ukey records, blobs and mask references in one allocator-lock hold (per-install
    // holds made two handlers wait on each other); what is left goes back after the installs.
    ukeys.reserve(Math.min(n, flowLimit - nFlows));
    for (let i = 0; i < n; i++) {
      const buf = this.mBuf[i]!, line = this.mLine[i]!;
      this.ukeyIdx[i] = -1;
      this.putOf[i] = -1;
      this.execActs[i] = null;
      this.translated[i] = 0;
      if (this.loadFlow(buf) < 0) {
        this.count(line, S_FAILED);
        continue;
      }
      const xr = xlateFlow(this.replica.env, { flow: this.flow, version, sideEffects: true, into: this.xlateOut });
      this.credit(xr, pool.meta[buf * META_WORDS + M_LEN]!);
      if (xr.error !== 0) {
        this.count(line, S_FAILED);
        continue;
      }
      this.translated[i] = 1;
      const kb = i * FLOW_WORDS;
      datapathMegaflow(this.replica.ports, xr.flow, xr.wc, keys, kb, masks, kb);
      const installed = this.actionCache.encode(xr.actions, xr.slow);
      this.execActs[i] = executable(xr.actions, xr.slow === 0 && odpActionsFit(xr.actions) ? installed : null);
      if (nFlows >= flowLimit) {
        this.count(line, S_FLOW_LIMIT);
        continue;
      }
      megaflowUfid(keys, kb, masks, kb, flows.secret, ufids, i * 4);
      const nr = xr.rules.length;
      let rules = this.ruleIds[nr];
      if (rules === undefined) rules = this.ruleIds[nr] = new Int32Array(nr);
      for (let r = 0; r < nr; r++) rules[r] = xr.rules[r]!.id;
      const arg = this.installArg;
      arg.ufid = this.ufidViews[i]!;
      arg.keyBase = arg.maskBase = kb;
      arg.actions = installed;
      arg.rules = rules;
      arg.version = version;
      arg.revalSeq = revalSeq;
      arg.nowMs = nowMs;
      const u = ukeys.install(arg);
      if (u.ok) {
        this.ukeyIdx[i] = u.ukey;
        this.ukeyGen[i] = u.gen;
        this.putOf[i] = ops.length;
        const op = this.putOps[i]!;
        op.actions = installed;
        ops.push(op);
        nFlows++;
      } else if (u.status === 'exists') {
        this.count(line, S_EXISTS);
      } else {
        this.count(line, S_FAILED);
      }
    }
    ukeys.unreserve();
    if (ops.length > 0) {
      const putErrs = this.putErrs;
      flows.operateErrors(ops, putErrs);
      const tDone = dpNowMs();
      for (let i = 0; i < n; i++) {
        const j = this.putOf[i]!;
        if (j < 0) continue;
        const err = putErrs[j];
        const ok = err === 0;
        ukeys.installFinish(this.ukeyIdx[i]!, this.ukeyGen[i]!, ok);
        const line = this.mLine[i]!;
        if (ok) {
          this.count(line, S_INSTALLED);
          const us = (tDone - this.mT0[i]!) * 1000;
          this.stats.latency(line, us);
          this.stats.latency(this.hLine, us);
        } else if (err === 'EEXIST') this.count(line, S_EXISTS);
        else this.count(line, S_FAILED);
      }
      ops.length = 0;
    }
    // Execute every packet in arrival order (after the puts, as OVS's one dpif_operate).
    for (let i = 0; i < n; i++) {
      const buf = this.mBuf[i]!, line = this.mLine[i]!;
      const acts = this.execActs[i];
      this.execActs[i] = null;
      if (acts === null || acts === undefined) {
        pool.free(buf);
        if (this.translated[i] === 1) this.count(line, S_EXEC_DROPPED);
        continue;
      }
      this.exec.execute(buf, area.inPort(buf), acts);
      this.count(line, S_HANDLED);
    }
    this.nMiss = 0;
  }
}

/**
 * The encoded actions to execute a translated packet with: `installed` when the installed actions
 * are the real ones; otherwise the real actions if the datapath can run them (a slow-path flow
 * whose actions are fine to execute once, e.g. too long for a flow's action slot); null when an
 * action cannot run in the datapath (the packet cannot be forwarded correctly).
 */
function executable(actions: readonly XlateAction[], installed: Uint8Array | null): Uint8Array | null {
  if (installed !== null) return installed;
  const size = odpActionsSize(actions);
  if (size < 0 || size > ODP_ACTIONS_MAX_BYTES || actions.length > 255) return null;
  return encodeOdpActions(actions as OdpAction[]);
}
