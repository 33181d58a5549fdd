/**
 * `ofproto/trace`: what translation does with one flow or packet, in OVS 3.1's text format
 * (ofproto/ofproto-dpif-trace.c ofproto_trace__):
 *
 * ```
 * Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=...,tcp_flags=syn
 *
 * bridge("br0")
 * -------------
 *  0. priority 0
 *     NORMAL
 *      -> learned that 00:60:97:94:82:df is on port p1 in VLAN 0
 *      -> no learned MAC for destination, flooding
 *
 * Final flow: unchanged
 * Megaflow: recirc_id=0,eth,ip,in_port=1,dl_src=00:60:97:94:82:df,dl_dst=00:00:0c:07:ac:01,nw_frag=no
 * Datapath actions: 1
 * ```
 * then, if any, "This flow is handled by the userspace slow path because it:" with the reasons,
 * or "Translation failed (REASON), packet is dropped.". The text ends with a newline (OVS's
 * unixctl adds one).
 *
 * A packet (`tracePacket`) is traced with side effects, as OVS does: NORMAL learns its source
 * MAC. A bare flow (`traceFlow`) has none. `names`: port names instead of numbers in in_port,
 * in rule and action texts, and in the datapath actions' output ports (OVS `--names`).
 * `Megaflow:` prints `recirc_id=0,eth,` (tsvs's key has no words for recirc_id and packet_type;
 * both are always matched exactly, as OVS's xlate_wc_init does) and then the flow masked by the
 * megaflow mask, as OVS's match_format.
 */
import { EXTRACT_OK, EXTRACT_TOO_SHORT, FLOW_WORDS, extractFlow, formatFlow, formatMatch } from '@tsvs/packet';
import { parseTraceFlow, TraceError } from './flow-parse.js';
import type { BridgePorts } from '../bridge/bridge.js';
import { slowPathExplanations } from '../xlate/cookie.js';
import { formatXlateActions } from '../xlate/odp-actions.js';
import { printTraceNodes } from '../xlate/trace-node.js';
import { xlateFlow, xlateStrerror, type XlateEnv, type XlateResult } from '../xlate/xlate.js';

export interface TraceOptions {
  /** Port names instead of numbers (OVS `--names`). */
  names?: boolean;
  /** Table version. Default: current. */
  version?: number;
}

export interface TraceOutput {
  /** The whole text, ending with a newline. */
  text: string;
  result: XlateResult;
}

/** Replaces `in_port=N` in a match/flow text by the port's name. */
function inPortNames(text: string, ports: BridgePorts): string {
  return text.replace(/(^|,)in_port=([0-9]+)(?=,|$)/, (all, pre: string, n: string) => {
    const p = ports.ofport(Number(n));
    if (!p) return all;
    const q = /^[A-Za-z0-9_.-]+$/.test(p.name) && !/^[0-9]+$/.test(p.name) ? p.name : JSON.stringify(p.name);
    return `${pre}in_port=${q}`;
  });
}

function flowText(flow: Uint32Array, ports: BridgePorts, names: boolean): string {
  const s = formatFlow(flow, 0);
  return names ? inPortNames(s, ports) : s;
}

/** The `Megaflow:` text (without the label) of a translation. */
export function formatMegaflow(result: XlateResult, ports?: BridgePorts): string {
  const masked = new Uint32Array(FLOW_WORDS);
  for (let i = 0; i < FLOW_WORDS; i++) masked[i] = (result.flow[i]! & result.wc[i]!) >>> 0;
  const m = formatMatch(masked, 0, result.wc, 0);
  const s = 'recirc_id=0,eth' + (m ? ',' + m : '');
  return ports ? inPortNames(s, ports) : s;
}

function flowsEqual(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Traces the flow key `flow` (in_port = OpenFlow port). `packet`: a real packet (side effects). */
export function traceKey(env: XlateEnv, flow: Uint32Array, packet: boolean, opts: TraceOptions = {}): TraceOutput {
  const names = !!opts.names;
  const result = xlateFlow(env, { flow, version: opts.version, sideEffects: packet, trace: true, names });
  const lines: string[] = [`Flow: ${flowText(result.flow, env.ports, names)}`];
  printTraceNodes(result.trace ? [result.trace] : [], 0, lines);
  lines.push('');
  lines.push(`Final flow: ${flowsEqual(result.flow, result.finalFlow) ? 'unchanged' : flowText(result.finalFlow, env.ports, names)}`);
  lines.push(`Megaflow: ${formatMegaflow(result, names ? env.ports : undefined)}`);
  let text = lines.join('\n') + '\n';
  text += `Datapath actions: ${formatXlateActions(result.actions, names ? env.ports.odpNames() : undefined)}`;
  if (result.error) {
    text += `\nTranslation failed (${xlateStrerror(result.error)}), packet is dropped.\n`;
  } else if (result.slow) {
    text += '\nThis flow is handled by the userspace slow path because it:';
    for (const e of slowPathExplanations(result.slow)) text += `\n  - ${e}.`;
  }
  if (!text.endsWith('\n')) text += '\n';
  return { text, result };
}

/**
 * Traces a flow given in ovs-ofctl match syntax (`in_port=1,tcp,nw_dst=10.0.0.1,tp_dst=80`),
 * without side effects (see ./flow-parse.ts).
 * @throws TraceError (one line, OVS's wording) for bad syntax.
 */
export function traceFlow(env: XlateEnv, flowText: string, opts: TraceOptions = {}): TraceOutput {
  return traceKey(env, parseTraceFlow(env.ports, flowText), false, opts);
}

/**
 * Traces a packet (an Ethernet frame) received on OpenFlow port `inPort`, with side effects.
 * @throws TraceError "Packet data too short for Ethernet" (OVS's text) for frames under 14 bytes.
 */
export function tracePacket(env: XlateEnv, frame: Uint8Array, inPort: number, opts: TraceOptions = {}): TraceOutput {
  const key = new Uint32Array(FLOW_WORDS);
  const st = extractFlow(frame, 0, frame.length, inPort, key, 0);
  if (st === EXTRACT_TOO_SHORT) throw new TraceError('Packet data too short for Ethernet');
  if (st !== EXTRACT_OK) throw new TraceError(`cannot extract a flow from the packet (status ${st})`);
  return traceKey(env, key, true, opts);
}
