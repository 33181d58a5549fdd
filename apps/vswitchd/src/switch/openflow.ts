/**
 * The daemon's OpenFlow layer: the @tsvs/ofproto `Ofproto` bridge over the datapath, its rules kept
 * in the config, and the control methods of @tsvs/control ofproto-methods.ts.
 *
 * Rules persistence: after every change made through the control socket (add-flow, add-flows,
 * mod-flows, del-flows) the tables are dumped without statistics, in ovs-ofctl syntax that
 * add-flow reads back (`table=`, `cookie=`, timeouts, flags, `priority=..,match actions=..`), into
 * `openflow.rules`, before the reply is sent: a rule the CLI reported as added survives kill -9.
 * Rules that leave by themselves (idle/hard timeouts) are written out by a 1 s check of the tables'
 * version. At start the saved rules are added back as one change (timeouts start again). A fresh
 * config holds OVS's default rule of a new bridge, `priority=0 actions=NORMAL`.
 *
 * Packet-ins: the last 1000 are kept with sequence numbers; `ofproto/packet-ins` long-polls them
 * (`tsvs monitor`).
 */
import { RpcError, RpcErrorCode, ofprotoParamSchemas, type OfRuleJson, type PacketInJson, type Tunables } from '@tsvs/control';
import type { Datapath } from '@tsvs/dpif';
import {
  Ofproto, formatActions, formatFlowStats, formatPacketIn, matchOptions, packetInReasonName, parseFlowMod,
  type ApplyResult, type OfRule, type OfprotoTunables, type PacketIn,
} from '@tsvs/ofproto';
import { formatMatch } from '@tsvs/packet';
import type { Daemon } from '../daemon.js';
import { HandlerGroup, RevalidatorGroup } from './ofproto-threads.js';
import type { PortBackend } from './ports.js';
import { oneLine } from './ports.js';

const PACKET_IN_KEEP = 1000;

function ofTunables(t: Tunables): OfprotoTunables {
  return {
    'max-idle': t['max-idle'], 'flow-limit': t['flow-limit'], 'max-revalidator': t['max-revalidator'],
    'min-revalidate-pps': t['min-revalidate-pps'], 'mac-aging-time': t['mac-aging-time'], 'mac-table-size': t['mac-table-size'],
  };
}

/** User input errors of the OpenFlow layer become BadInput (exit 2), one line. */
function bad(err: unknown): never {
  if (err instanceof RpcError) throw err;
  const name = (err as Error)?.name;
  if (name === 'OfprotoError' && /^no port/.test((err as Error).message)) throw new RpcError(RpcErrorCode.NotFound, oneLine(err));
  if (['OfctlSyntaxError', 'FlowParseError', 'OfTablesError', 'OfprotoError', 'TraceError', 'RangeError'].includes(name)) {
    throw new RpcError(RpcErrorCode.BadInput, oneLine(err));
  }
  throw err;
}

export class OpenFlowLayer {
  readonly handlers: HandlerGroup;
  readonly revalidators: RevalidatorGroup;
  private persistedVersion = -1;
  private versionTimer: NodeJS.Timeout | null = null;
  private readonly packetIns: PacketInJson[] = [];
  private packetInSeq = 0;
  private packetInLost = 0;
  private readonly piWaiters = new Set<() => void>();
  private offPacketIn: (() => void) | null = null;

  private constructor(
    private readonly d: Daemon,
    readonly ofproto: Ofproto,
  ) {
    this.handlers = new HandlerGroup(ofproto);
    this.revalidators = new RevalidatorGroup(ofproto);
  }

  static async open(d: Daemon, dp: Datapath): Promise<OpenFlowLayer> {
    const cfg = d.config.get();
    const counts = d.threadCounts();
    const log = d.log.child({ subsystem: 'ofproto' });
    const ofproto = await Ofproto.open(dp, {
      name: cfg.bridge.name,
      handlers: counts.handler,
      revalidators: counts.revalidator,
      tunables: ofTunables(cfg.tunables),
      log: (line) => log.warn(line),
    });
    const layer = new OpenFlowLayer(d, ofproto);
    layer.handlers.attach(await d.supervisor.adopt('handler', layer.handlers));
    layer.revalidators.attach(await d.supervisor.adopt('revalidator', layer.revalidators));
    layer.offPacketIn = ofproto.onPacketIn((p) => layer.keepPacketIn(p));
    return layer;
  }

  /** The port backend: bridge ports (datapath port + OpenFlow number + VLAN settings). */
  backend(): PortBackend {
    return {
      open: async (p) => {
        const info = await this.ofproto.addPort({
          name: p.name, type: p.type, options: p.options, ofport: p.ofport,
          ...(p.vlan_mode !== undefined ? { vlanMode: p.vlan_mode } : {}),
          ...(p.tag !== undefined ? { tag: p.tag } : {}),
          ...(p.trunks !== undefined ? { trunks: p.trunks } : {}),
        });
        return info.odpPort;
      },
      close: (name) => this.ofproto.delPort(name),
    };
  }

  /** Adds the saved rules back (one change; if that fails, one by one, logging the refused ones). */
  restoreRules(): void {
    const rules = this.d.config.get().openflow.rules;
    if (rules.length === 0) return;
    try {
      this.ofproto.addFlows(rules);
    } catch (err) {
      this.d.log.error({ err: oneLine(err) }, 'the saved rules cannot be added as one change; adding them one by one');
      for (const r of rules) {
        try {
          this.ofproto.addFlow(r);
        } catch (e) {
          this.d.log.error({ rule: r, err: oneLine(e) }, 'saved rule refused');
        }
      }
    }
    this.persistedVersion = this.ofproto.tables.version;
    this.d.log.info({ rules: this.ofproto.nRules }, 'OpenFlow rules restored');
  }

  /** Starts the check that writes out rules removed by timeouts. */
  startPersistence(): void {
    this.versionTimer = setInterval(() => {
      if (this.ofproto.tables.version !== this.persistedVersion) void this.persistRules('rule timeouts').catch(() => undefined);
    }, 1000);
    this.versionTimer.unref();
  }

  /** Writes the current rules into the config. */
  async persistRules(reason: string): Promise<void> {
    const version = this.ofproto.tables.version;
    const rules = this.ofproto.dumpFlows('', { stats: false, showFlags: true }).map((l) => l.trim());
    try {
      await this.d.config.update(reason, (draft) => {
        draft.openflow.rules = rules;
      });
      this.persistedVersion = version;
    } catch (err) {
      this.d.log.error({ err }, 'saving the OpenFlow rules');
      throw new RpcError(RpcErrorCode.Unavailable, `the rules changed but could not be saved: ${oneLine(err)}`);
    }
  }

  applyTunables(t: Tunables): void {
    const cur = this.ofproto.tunables;
    const next = ofTunables(t);
    const changed: Partial<OfprotoTunables> = {};
    for (const k of Object.keys(next) as (keyof OfprotoTunables)[]) if (cur[k] !== next[k]) changed[k] = next[k];
    if (Object.keys(changed).length > 0) this.ofproto.setTunables(changed);
  }

  private keepPacketIn(p: PacketIn): void {
    const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
    this.packetIns.push({
      seq: ++this.packetInSeq, timeMs: p.timeMs, kind: p.kind, inPort: p.inPort, reason: p.kind === 'controller' ? packetInReasonName(p.reason) : 'userspace',
      tableId: p.tableId, cookie: `0x${p.cookie.toString(16)}`, totalLen: p.totalLen, packet: hex(p.packet), userdata: hex(p.userdata),
      text: formatPacketIn(p),
    });
    if (this.packetIns.length > PACKET_IN_KEEP) {
      this.packetIns.shift();
      this.packetInLost++;
    }
    for (const w of this.piWaiters) w();
    this.piWaiters.clear();
  }

  private ruleJson(r: OfRule, nowMs: number, names: boolean): OfRuleJson {
    const portMap = names ? this.ofproto.bridgePorts.portMap : undefined;
    return {
      table: r.table, priority: r.priority, cookie: `0x${r.cookie.toString(16)}`,
      durationS: Math.max(0, nowMs - r.createdMs) / 1000, nPackets: r.nPackets, nBytes: r.nBytes,
      idleTimeout: r.idleTimeout, hardTimeout: r.hardTimeout, idleAgeS: Math.max(0, Math.floor((nowMs - r.usedMs) / 1000)),
      match: formatMatch(r.key, 0, r.mask, 0, matchOptions(undefined, portMap)), actions: formatActions(r.actions, portMap ? { portMap } : {}),
      text: formatFlowStats(r, { nowMs, showStats: true, showFlags: false, ...(portMap ? { portMap } : {}) }),
    };
  }

  register(): void {
    const rpc = this.d.rpc;
    const s = ofprotoParamSchemas;
    const of = this.ofproto;
    const change = async (reason: string, f: () => ApplyResult): Promise<ApplyResult> => {
      let r: ApplyResult;
      try {
        r = f();
      } catch (err) {
        bad(err);
      }
      await this.persistRules(reason);
      return r;
    };
    rpc.register('ofctl/add-flow', s['ofctl/add-flow'], async (p) => {
      await change('add-flow', () => of.addFlow(p.flow));
      return { rules: of.nRules };
    }, 'add an OpenFlow rule (ovs-ofctl add-flow)');
    rpc.register('ofctl/add-flows', s['ofctl/add-flows'], async (p) => {
      const r = await change('add-flows', () => of.addFlows(p.flows));
      return { added: r.added.length, rules: of.nRules };
    }, 'add OpenFlow rules as one change (ovs-ofctl add-flows)');
    rpc.register('ofctl/mod-flows', s['ofctl/mod-flows'], async (p) => {
      const r = await change('mod-flows', () => of.modFlows(p.flow, { strict: p.strict ?? false }));
      return { modified: r.replaced.length, rules: of.nRules };
    }, 'modify OpenFlow rules (ovs-ofctl mod-flows)');
    rpc.register('ofctl/del-flows', s['ofctl/del-flows'], async (p) => {
      const r = await change('del-flows', () => of.delFlows(p.match ?? '', { strict: p.strict ?? false }));
      return { deleted: r.deleted.length, rules: of.nRules };
    }, 'delete OpenFlow rules (ovs-ofctl del-flows)');
    rpc.register('ofctl/dump-flows', s['ofctl/dump-flows'], (p) => {
      try {
        const names = p.names ?? false;
        const fm = parseFlowMod(p.match ?? '', p.strict ? 'delete_strict' : 'delete', { portMap: of.bridgePorts.portMap });
        const rules = of.tables.select({
          table: fm.table, key: fm.key, mask: fm.mask, strict: !!p.strict, priority: fm.priority,
          cookie: fm.cookie, cookieMask: fm.cookieMask, outPort: fm.outPort,
        });
        rules.sort((a, b) => a.table - b.table || b.priority - a.priority || a.id - b.id);
        const now = Date.now();
        const text = of.dumpFlows(p.match ?? '', { names, stats: !p.noStats, strict: p.strict ?? false });
        return { rules: rules.map((r) => this.ruleJson(r, now, names)), text: text.map((l) => l + '\n').join('') };
      } catch (err) {
        bad(err);
      }
    }, 'OpenFlow rules (ovs-ofctl dump-flows)');
    rpc.register('ofproto/trace', s['ofproto/trace'], (p) => {
      const traces: { text: string; datapathActions: string }[] = [];
      const opts = { names: p.names ?? false };
      try {
        if (p.flow !== undefined) traces.push(pack(of.trace(p.flow, opts).text));
        else {
          for (const hex of p.packets!) {
            const b = Buffer.from(hex, 'hex');
            traces.push(pack(of.tracePacket(new Uint8Array(b.buffer, b.byteOffset, b.length), p.inPort!, opts).text));
          }
        }
      } catch (err) {
        bad(err);
      }
      return { traces, text: traces.map((t) => t.text).join('\n') };
    }, 'trace a flow or packets through the tables (ofproto/trace)');
    rpc.register('fdb/show', s['fdb/show'], (p) => ({ text: of.fdbShow({ names: p.names ?? false }), stats: of.fdbStats() }), 'MAC learning table (fdb/show)');
    rpc.register('fdb/flush', s['fdb/flush'], () => {
      of.fdbFlush();
      return { flushed: true as const };
    }, 'forget every learned MAC (fdb/flush)');
    rpc.register('upcall/show', s['upcall/show'], () => ({ text: of.upcallShow(), data: of.upcallShowJson(), handlers: of.handlerStatsText() }), 'revalidators and flows (upcall/show)');
    rpc.register('upcall/set-flow-limit', s['upcall/set-flow-limit'], (p) => {
      try {
        of.setFlowLimit(p.limit);
      } catch (err) {
        bad(err);
      }
      return { limit: p.limit };
    }, 'set the dynamic flow limit (upcall/set-flow-limit)');
    rpc.register('revalidator/wait', s['revalidator/wait'], async () => {
      await of.revalidatorWait();
      return { rounds: of.upcallShowData().rounds };
    }, 'return after a full revalidation round (revalidator/wait)');
    rpc.register('revalidator/purge', s['revalidator/purge'], async () => {
      const before = of.dp.table.flowCount;
      await of.revalidatorPurge();
      return { flows: before - of.dp.table.flowCount };
    }, 'delete every datapath flow with a ukey (revalidator/purge)');
    rpc.register('revalidator/pause', s['revalidator/pause'], async () => {
      await of.revalidatorPause();
      return { paused: true as const };
    }, 'stop revalidation rounds (revalidator/pause)');
    rpc.register('revalidator/resume', s['revalidator/resume'], () => {
      of.revalidatorResume();
      return { paused: false as const };
    }, 'start revalidation rounds again (revalidator/resume)');
    rpc.register('ofproto/packet-ins', s['ofproto/packet-ins'], async (p) => {
      // No `after`: start from now (a monitor shows what comes after it started).
      if (p.after === undefined) return { items: [], next: this.packetInSeq, lost: 0 };
      const after = p.after;
      const pick = (): PacketInJson[] => this.packetIns.filter((x) => x.seq > after);
      let items = pick();
      if (items.length === 0 && (p.waitMs ?? 0) > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, p.waitMs);
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.piWaiters.add(done);
        });
        items = pick();
      }
      // Packet-ins after `after` that were dropped from the buffer before this call saw them.
      const oldest = this.packetIns[0]?.seq ?? this.packetInSeq + 1;
      const lost = Math.max(0, Math.min(oldest - 1, this.packetInSeq) - after);
      return { items, next: items.length ? items[items.length - 1]!.seq : Math.max(after, this.packetInSeq), lost };
    }, 'packet-ins (long poll; tsvs monitor)');
  }

  async close(): Promise<void> {
    if (this.versionTimer) clearInterval(this.versionTimer);
    this.versionTimer = null;
    this.offPacketIn?.();
    for (const w of this.piWaiters) w();
    this.handlers.close();
    this.revalidators.close();
    await this.ofproto.close();
  }
}

function pack(text: string): { text: string; datapathActions: string } {
  const m = /^Datapath actions: (.*)$/m.exec(text);
  return { text, datapathActions: m ? m[1]! : '' };
}
