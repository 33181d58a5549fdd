/**
 * `dpctl` methods: datapath flows read and written directly (OVS `ovs-appctl dpctl/*`).
 *
 * Text formats follow OVS 3.1 lib/dpctl.c format_dpif_flow and lib/dpif.c dpif_flow_stats_format:
 *   [ufid:U, ]KEY, packets:N, bytes:N, used:T[, flags:F], actions:A
 * KEY is the ODP key with masks (@tsvs/packet formatOdpKey: partially masked fields as value/mask,
 * fully wildcarded ones left out, as OVS's non-verbose form); `used:` is `never` or seconds ago with
 * three decimals; `flags:` the TCP flags letters of lib/packets.c packet_format_tcp_flags; A the
 * ODP actions (@tsvs/dpif formatOdpActions). With -m (verbose), as OVS's `dpctl/dump-flows -m`:
 *   ufid:U, VERBOSE-KEY, packets:N, bytes:N, used:T[, flags:F], dp:ovs, actions:A
 * VERBOSE-KEY prints every attribute and field, wildcarded ones as `value/0` (formatOdpKey
 * verbose), and ports go by name in in_port() and output actions (OVS: -m implies --names).
 * `dp:ovs` is the layer dpif-netdev reports (flows in the software datapath). OVS then appends
 * `, dp-extra-info:miniflow_bits(A,B)`, dpcls-internal and optional in the format: tsvs's dpcls
 * has another layout, so it is left out. The --json flows stay in the plain form.
 * get-flow / del-flow print the plain line with the UFID first.
 * Terse (tsvs): `ufid:U, packets:N, bytes:N, used:T`.
 */
import { RpcError, RpcErrorCode, type DpctlFlow } from '@tsvs/control';
import {
  DPIF_FP_CREATE, DPIF_FP_MODIFY, DPIF_FP_ZERO_STATS, dpNowMs, formatOdpActions, formatUfid, parseOdpActions, parseUfid,
  type Datapath, type FlowErrno, type FlowInfo, type FlowStats, type FlowTerse,
} from '@tsvs/dpif';
import { formatOdpKey, parseOdpKey } from '@tsvs/packet';

/** lib/packets.c packet_format_tcp_flags. */
export function formatTcpFlagLetters(f: number): string {
  if (!f) return 'none';
  let s = '';
  if (f & 0x002) s += 'S';
  if (f & 0x001) s += 'F';
  if (f & 0x008) s += 'P';
  if (f & 0x004) s += 'R';
  if (f & 0x020) s += 'U';
  if (f & 0x010) s += '.';
  if (f & 0x040) s += 'E';
  if (f & 0x080) s += 'C';
  if (f & 0x100) s += 'N';
  if (f & 0x200) s += '[200]';
  if (f & 0x400) s += '[400]';
  if (f & 0x800) s += '[800]';
  return s;
}

function statsFields(st: FlowStats, now: number): Pick<DpctlFlow, 'packets' | 'bytes' | 'usedMsAgo' | 'tcpFlags'> {
  return {
    packets: st.packets,
    bytes: st.bytes,
    usedMsAgo: st.used ? Math.max(0, now - st.used) : null,
    tcpFlags: st.tcpFlags ? formatTcpFlagLetters(st.tcpFlags) : null,
  };
}

export function flowJson(f: FlowInfo | FlowTerse, now = dpNowMs()): DpctlFlow {
  const out: DpctlFlow = { ufid: formatUfid(f.ufid), ...statsFields(f.stats, now) };
  if ('key' in f) {
    out.match = formatOdpKey(f.key, 0, f.mask, 0);
    out.actions = formatOdpActions(f.actions);
  }
  return out;
}

function statsText(f: DpctlFlow): string {
  const used = f.usedMsAgo === null ? 'never' : `${(f.usedMsAgo / 1000).toFixed(3)}s`;
  return `packets:${f.packets}, bytes:${f.bytes}, used:${used}${f.tcpFlags ? `, flags:${f.tcpFlags}` : ''}`;
}

/** One `dump-flows -m` line (see the file comment); `portName`: datapath port names. */
export function verboseFlowLine(f: FlowInfo, j: DpctlFlow, portName: (odpPort: number) => string | undefined): string {
  const key = formatOdpKey(f.key, 0, f.mask, 0, { verbose: true, portName });
  return `${j.ufid}, ${key}, ${statsText(j)}, dp:ovs, actions:${formatOdpActions(f.actions, 0, f.actions.length, { portName })}`;
}

/** One dump-flows line (see the file comment). */
export function flowLine(f: DpctlFlow, opts: { verbose?: boolean; terse?: boolean } = {}): string {
  if (opts.terse || f.match === undefined) return `${f.ufid}, ${statsText(f)}`;
  return `${opts.verbose ? `${f.ufid}, ` : ''}${f.match}, ${statsText(f)}, actions:${f.actions}`;
}

function flowErr(op: string, e: FlowErrno): RpcError {
  switch (e) {
    case 'EEXIST':
      return new RpcError(RpcErrorCode.Conflict, `${op}: a flow with this UFID or matching this key already exists (EEXIST)`);
    case 'ENOENT':
      return new RpcError(RpcErrorCode.NotFound, `${op}: no such flow (ENOENT)`);
    case 'EINVAL':
      return new RpcError(RpcErrorCode.BadInput, `${op}: invalid flow (EINVAL: in_port must be exact, or the UFID names a flow with another match)`);
    case 'E2BIG':
      return new RpcError(RpcErrorCode.BadInput, `${op}: actions too long for a flow (E2BIG)`);
    case 'ENOSPC':
      return new RpcError(RpcErrorCode.Unavailable, `${op}: the flow table is full (ENOSPC)`);
  }
}

function ufidArg(s: string): Uint32Array {
  try {
    return parseUfid(s);
  } catch (err) {
    throw new RpcError(RpcErrorCode.BadInput, (err as Error).message);
  }
}

/** Parses `FLOW` (ODP key syntax; port names allowed in in_port()) and `ACTIONS`. */
function flowArgs(dp: Datapath, flow: string, actions?: string): { key: Uint32Array; mask: Uint32Array; actions: Uint8Array } {
  let parsed;
  try {
    parsed = parseOdpKey(flow, { portByName: (n) => dp.portQueryByName(n)?.portNo });
  } catch (err) {
    throw new RpcError(RpcErrorCode.BadInput, `bad flow: ${(err as Error).message.split('\n')[0]}`);
  }
  let acts: Uint8Array = new Uint8Array(0);
  if (actions !== undefined) {
    try {
      acts = parseOdpActions(actions);
    } catch (err) {
      throw new RpcError(RpcErrorCode.BadInput, (err as Error).message.split('\n')[0]!);
    }
  }
  return { key: parsed.key, mask: parsed.mask, actions: acts };
}

export class Dpctl {
  constructor(private readonly dp: Datapath) {}

  dumpFlows(opts: { verbose?: boolean; terse?: boolean }): { flows: DpctlFlow[]; text: string } {
    const dump = this.dp.flowDump({ terse: opts.terse ?? false });
    const flows: DpctlFlow[] = [];
    const now = dpNowMs();
    // -m implies port names, as OVS's dpctl (names = verbosity > 0 without --names/--no-names).
    let portName: ((odpPort: number) => string | undefined) | undefined;
    if (opts.verbose && !opts.terse) {
      const names = new Map(this.dp.portList().map((p) => [p.portNo, p.name]));
      portName = (p) => names.get(p);
    }
    let text = '';
    for (let batch = dump.next(50); batch.length > 0; batch = dump.next(50)) {
      for (const f of batch) {
        const j = flowJson(f, now);
        flows.push(j);
        text += (portName && 'key' in f ? verboseFlowLine(f, j, portName) : flowLine(j, opts)) + '\n';
      }
    }
    return { flows, text };
  }

  getFlow(ufid: string): { flow: DpctlFlow; text: string } {
    const r = this.dp.flowGet(ufidArg(ufid));
    if (r.error || !r.flow) throw flowErr('get-flow', r.error || 'ENOENT');
    const flow = flowJson(r.flow);
    return { flow, text: flowLine(flow, { verbose: true }) + '\n' };
  }

  addFlow(flow: string, actions: string): { ufid: string } {
    const a = flowArgs(this.dp, flow, actions);
    const r = this.dp.flowPut({ flags: DPIF_FP_CREATE, key: a.key, mask: a.mask, actions: a.actions });
    if (r.error) throw flowErr('add-flow', r.error);
    return { ufid: formatUfid(r.ufid) };
  }

  modFlow(flow: string, actions: string, create: boolean, zeroStats: boolean): { ufid: string; created: boolean } {
    const a = flowArgs(this.dp, flow, actions);
    const flags = DPIF_FP_MODIFY | (create ? DPIF_FP_CREATE : 0) | (zeroStats ? DPIF_FP_ZERO_STATS : 0);
    const r = this.dp.flowPut({ flags, key: a.key, mask: a.mask, actions: a.actions });
    if (r.error) throw flowErr('mod-flow', r.error);
    return { ufid: formatUfid(r.ufid), created: r.created };
  }

  /** Deletes by UFID, or by FLOW (the UFID the datapath derives from that key and mask). */
  delFlow(p: { ufid?: string; flow?: string }): { flow: DpctlFlow; text: string } {
    let ufid: Uint32Array;
    if (p.ufid !== undefined) ufid = ufidArg(p.ufid);
    else {
      // OVS dpctl/del-flow FLOW: the flow whose match is exactly this key and mask.
      const a = flowArgs(this.dp, p.flow!);
      const found = this.findByMatch(a.key, a.mask);
      if (!found) throw flowErr('del-flow', 'ENOENT');
      ufid = found;
    }
    const before = this.dp.flowGet(ufid);
    const r = this.dp.flowDel(ufid);
    if (r.error) throw flowErr('del-flow', r.error);
    const info: FlowInfo | FlowTerse = before.flow ? { ...before.flow, stats: r.stats } : { ufid, stats: r.stats, entry: -1 };
    const flow = flowJson(info);
    return { flow, text: flowLine(flow, { verbose: true }) + '\n' };
  }

  private findByMatch(key: Uint32Array, mask: Uint32Array): Uint32Array | null {
    const dump = this.dp.flowDump({ terse: false });
    for (let batch = dump.next(50); batch.length > 0; batch = dump.next(50)) {
      for (const f of batch as FlowInfo[]) {
        let same = true;
        for (let i = 0; i < mask.length && same; i++) same = f.mask[i] === mask[i] && f.key[i] === (key[i]! & mask[i]!) >>> 0;
        if (same) return f.ufid;
      }
    }
    return null;
  }

  delFlows(): { deleted: number } {
    return { deleted: this.dp.flowFlush() };
  }
}
