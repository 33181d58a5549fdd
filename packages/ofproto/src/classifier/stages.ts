/**
 * Staged lookup segments over the flow key words (OVS 3.1 `flow_segment_u64s`, struct flow in
 * include/openvswitch/flow.h): metadata, then L2 (ends where OVS's segment 1 ends, at dl_dst),
 * L3 (up to nd_target), L4 (the rest). A subtable checks the stages in this order and stops at
 * the first stage with no rule, un-wildcarding only the stages it consulted.
 *
 * Our word layout (packages/packet/src/flow-layout.ts) is not in stage order (the reserved
 * metadata words sit at the end), so stages are lists of words:
 *
 * | stage    | words                                                   | OVS fields                    |
 * |----------|---------------------------------------------------------|-------------------------------|
 * | metadata | 0 in_port, 34, 35 (reserved: recirc_id, skb_priority)   | tunnel .. actset_output       |
 * | L2       | 1..10 dl_dst, dl_src, dl_type, vlans, mpls              | dl_dst .. mpls_lse            |
 * | L3       | 11..22 nw_src, nw_dst, ipv6_src/dst, ipv6_label, nw     | nw_src .. nw_proto            |
 * | L4       | 23 tp, 24 tcp_flags, 25..28 arp_sha/tha, 29..32         | nd_target, arp_sha/tha,       |
 * |          | nd_target, 33 igmp_group                                | tcp_flags, tp_src .. igmp     |
 *
 * (OVS 3.1 puts arp_sha/arp_tha, nd_target and tcp_flags in the last segment, as here.)
 */
import { FLOW_WORDS } from '@tsvs/packet';

export const STAGE_METADATA = 0;
export const STAGE_L2 = 1;
export const STAGE_L3 = 2;
export const STAGE_L4 = 3;
export const N_STAGES = 4;

/** Stage of every flow key word. */
export const WORD_STAGE: Uint8Array = (() => {
  const s = new Uint8Array(FLOW_WORDS);
  for (let w = 0; w < FLOW_WORDS; w++) {
    s[w] = w === 0 || w >= 34 ? STAGE_METADATA : w <= 10 ? STAGE_L2 : w <= 22 ? STAGE_L3 : STAGE_L4;
  }
  return s;
})();

/** All flow key words in stage order (then word order within a stage). */
export const STAGE_WORD_ORDER: readonly number[] = (() => {
  const out: number[] = [];
  for (let st = 0; st < N_STAGES; st++) for (let w = 0; w < FLOW_WORDS; w++) if (WORD_STAGE[w] === st) out.push(w);
  return out;
})();
