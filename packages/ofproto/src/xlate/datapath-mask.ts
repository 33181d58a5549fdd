/**
 * From a translation to the datapath flow to install: the key with the odp in_port, and the mask
 * the datapath must use.
 *
 * OVS hands the megaflow to the datapath as ODP key + mask attributes, and reading those back
 * (lib/odp-util.c odp_flow_key_to_mask) adds one implication that `Megaflow:` does not show: "a
 * missing VLAN mask means exact match on vlan_tci 0 (== no VLAN)" — the outer Ethertype of an
 * untagged packet is its real Ethertype, so the flow cannot match tagged packets. In the tsvs key
 * the VLAN header lives in its own word (TPID and TCI) and dl_type is the inner Ethertype, so
 * that implication must be written into the mask: an untagged packet gets the first VLAN word
 * exact (0), a tagged one its TPID exact (OVS exports `eth_type(0x8100)` exact). Without it, an
 * untagged megaflow would also match tagged packets of the same Ethertype.
 *
 * The in_port word becomes the odp port; the mask keeps it exact (datapaths require that).
 */
import { FLOW_WORDS, VLAN_CFI, W_IN_PORT, W_VLAN0 } from '@tsvs/packet';
import type { BridgePorts } from '../bridge/bridge.js';

/**
 * Writes the datapath key (`flow & mask`, in_port = odp port) to `keyOut[kb..]` and mask to
 * `maskOut[mb..]`. Returns false (nothing written) if the flow's in_port is not a port of the
 * bridge.
 */
export function datapathMegaflow(
  ports: BridgePorts, flow: Uint32Array, wc: Uint32Array,
  keyOut: Uint32Array, kb: number, maskOut: Uint32Array, mb: number,
): boolean {
  const odp = ports.ofportToOdp(flow[W_IN_PORT]!);
  if (odp < 0) return false;
  // One pass over the words; in_port and the first VLAN word are fixed up after it.
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = wc[i]!;
    maskOut[mb + i] = m;
    keyOut[kb + i] = flow[i]! & m;
  }
  maskOut[mb + W_IN_PORT] = 0xffffffff;
  keyOut[kb + W_IN_PORT] = odp >>> 0;
  const v = flow[W_VLAN0]!;
  const vm = !(v & VLAN_CFI) ? 0xffffffff : (wc[W_VLAN0]! | 0xffff0000 | VLAN_CFI) >>> 0;
  maskOut[mb + W_VLAN0] = vm;
  keyOut[kb + W_VLAN0] = v & vm;
  return true;
}
