/**
 * The flow of `ofproto/trace BRIDGE FLOW`: a port of OVS 3.1 `parse_ofp_exact_flow()`
 * (lib/ofp-flow.c). Items are read left to right with ovs-ofctl's match syntax (values as
 * @tsvs/packet's match parser reads them); unlike a match, the result is one exact flow:
 * - a field whose prerequisites the flow built so far does not meet is an error
 *   (`prerequisites not met for setting tp_src`: `tp_src` means tcp_src, so `udp,tp_src=1` fails);
 * - a field set twice, or a second protocol, is an error;
 * - a VLAN TCI gets TPID 0x8100 (flow_fix_vlan_tpid); in_port defaults to OFPP_NONE (0xffff).
 * Errors are TraceErrors with OVS's text: `Bad openflow flow syntax: FLOW: REASON`.
 */
import { FLOW_WORDS, VLAN_CFI, W_DL_TYPE, W_IN_PORT, W_NW, W_VLAN0, parseMatchField, tokenizeMatch } from '@tsvs/packet';
import type { BridgePorts } from '../bridge/bridge.js';
import { fieldByName, fieldPrereqsOk } from '../rules/fields.js';
import { OFPP_NONE } from '../rules/ports.js';

/** A trace input that cannot be traced; `message` is OVS's error text where OVS has one. */
export class TraceError extends Error {
  override name = 'TraceError';
}

const PROTOCOLS = new Set([
  'ip', 'ipv4', 'ip4', 'arp', 'icmp', 'tcp', 'udp', 'sctp', 'ipv6', 'ip6', 'icmp6', 'tcp6', 'udp6', 'sctp6', 'rarp', 'mpls', 'mplsm',
]);

/**
 * Parses `text` into a flow key (FLOW_WORDS words; in_port = OpenFlow port; names allowed).
 * @throws TraceError as listed above, or for any value the match syntax refuses.
 */
export function parseTraceFlow(ports: BridgePorts, text: string): Uint32Array {
  const fail = (why: string): never => {
    throw new TraceError(`Bad openflow flow syntax: ${text}: ${why}`);
  };
  const flow = new Uint32Array(FLOW_WORDS);
  const k = new Uint32Array(FLOW_WORDS);
  const m = new Uint32Array(FLOW_WORDS);
  const pm = ports.portMap;
  for (const t of tokenizeMatch(text)) {
    k.fill(0);
    m.fill(0);
    if (PROTOCOLS.has(t.name)) {
      if (flow[W_DL_TYPE]) fail('Ethernet type set multiple times');
      parseMatchField(t.name, '', k, m, 0, 0);
      if (k[W_NW] && flow[W_NW]! >>> 24) fail('network protocol set multiple times');
    } else {
      if (t.name === 'eth') continue;
      const fd = fieldByName(t.name);
      if (fd && !fieldPrereqsOk(fd, flow, 0)) fail(`prerequisites not met for setting ${t.name}`);
      try {
        parseMatchField(t.name, t.value, k, m, 0, 0, { portByName: (n) => pm.byName.get(n) });
      } catch (e) {
        fail((e as Error).message);
      }
      // OVS mf_is_set: the field's own bits are nonzero (the VLAN "present" bit is shared by
      // dl_vlan, dl_vlan_pcp and friends, so it does not count).
      let set = false;
      for (let i = 0; i < FLOW_WORDS; i++) {
        const bits = i === W_VLAN0 || i === W_VLAN0 + 1 ? m[i]! & ~VLAN_CFI : m[i]!;
        if (flow[i]! & bits) set = true;
      }
      if (set) fail(`field ${t.name} set multiple times`);
    }
    for (let i = 0; i < FLOW_WORDS; i++) flow[i] = ((flow[i]! & ~m[i]!) | (k[i]! & m[i]!)) >>> 0;
    const v = flow[W_VLAN0]!;
    if (v >>> 16 === 0 && (v & 0xffff) !== 0) flow[W_VLAN0] = ((0x8100 << 16) | v) >>> 0;
  }
  if (flow[W_IN_PORT] === 0) flow[W_IN_PORT] = OFPP_NONE;
  return flow;
}
