/**
 * Deterministic generator of random matches (key + mask in the flow key layout) that OVS's ofctl
 * parser accepts back: prerequisites respected (L4 only under an exact nw_proto, ND fields only
 * under icmp6 type 135/136 code 0, no L4 in later fragments), one VLAN header (OpenFlow has no
 * second), CIDR IPv6 masks, and no masks that OVS normalises away (ipv6_label 0xfffff).
 * Keys are masked. Used by ../fixtures/make-goldens.ts and the printer tests.
 */
import * as P from '@tsvs/packet';
import { makeRng } from './random-frames.js';

export interface RandomMatch {
  key: Uint32Array;
  mask: Uint32Array;
}

export function makeMatchGen(seed: number): () => RandomMatch {
  const rnd = makeRng(seed);
  const r32 = (): number => ((rnd(0x10000) << 16) | rnd(0x10000)) >>> 0;
  const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
  const cidr = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  const m32 = (): number => pick([0xffffffff, 0xffffffff, cidr(rnd(33)), r32(), 0]);

  return function gen(): RandomMatch {
    const key = new Uint32Array(P.FLOW_WORDS);
    const mask = new Uint32Array(P.FLOW_WORDS);
    const set = (w: number, v: number, m: number): void => {
      mask[w] = m >>> 0;
      key[w] = (v & m) >>> 0;
    };
    if (rnd(2)) set(P.W_IN_PORT, pick([1, 2, 7, 100, 0xfffe, 65000]), 0xffffffff);
    if (rnd(3) === 0) set(P.W_DL_SRC_HI, rnd(0x10000), pick([0xffff, 0x100, 0, rnd(0x10000)]));
    if (rnd(3) === 0) set(P.W_DL_SRC_LO, r32(), pick([0xffffffff, 0, r32()]));
    if (rnd(3) === 0) { set(P.W_DL_DST_HI, rnd(0x10000), 0xffff); set(P.W_DL_DST_LO, r32(), 0xffffffff); }
    if (rnd(3) === 0) {
      const vm = pick([0xffff, 0x1fff, 0xf000, 0x1000, 0xefff, 0x1fff, 0xf000, rnd(0x10000)]);
      let vt = rnd(0x10000);
      if (vm & 0x1000 && !(vt & 0x1000)) vt = 0; // "no VLAN" cannot carry a VID or PCP
      set(P.W_VLAN0, vt, vm);
    }
    const dl = pick([0x0800, 0x0800, 0x86dd, 0x86dd, 0x0806, 0x8035, 0x8847, 0x8848, 0x88cc, -1]);
    if (dl < 0) return { key, mask };
    set(P.W_DL_TYPE, dl, 0xffff);
    if (dl === 0x0800) {
      if (rnd(2)) set(P.W_NW_SRC, r32(), m32());
      if (rnd(2)) set(P.W_NW_DST, r32(), m32());
    }
    if (dl === 0x86dd) {
      for (const base of [P.W_IPV6_SRC, P.W_IPV6_DST]) {
        if (rnd(2)) {
          const bits = rnd(129);
          for (let i = 0; i < 4; i++) set(base + i, rnd(4) ? r32() : 0, cidr(bits - 32 * i));
        }
      }
      if (rnd(3) === 0) set(P.W_IPV6_LABEL, rnd(1 << 20), pick([0xffffffff, 0xff, rnd(1 << 19)]));
    }
    if (dl === 0x0806 || dl === 0x8035) {
      if (rnd(2)) set(P.W_NW_SRC, r32(), m32());
      if (rnd(2)) set(P.W_NW_DST, r32(), m32());
      if (rnd(2)) set(P.W_NW, rnd(256) << 24, 0xff000000);
      if (rnd(2)) { set(P.W_ARP_SHA_HI, rnd(0x10000), pick([0xffff, 0x100])); set(P.W_ARP_SHA_LO, r32(), pick([0xffffffff, 0])); }
      if (rnd(2)) { set(P.W_ARP_THA_HI, rnd(0x10000), 0xffff); set(P.W_ARP_THA_LO, r32(), pick([0xffffffff, 0xffff0000])); }
    }
    if (dl === 0x8847 || dl === 0x8848) set(P.W_MPLS0, r32(), pick([0xfffff000, 0xe00, 0xff, 0x100, 0xfffff1ff, 0xffffffff]));
    if (dl !== 0x0800 && dl !== 0x86dd) return { key, mask };

    let nwm = 0;
    let nwv = 0;
    const proto = pick([6, 17, 132, 1, 58, 2, 47, 0, 255]);
    const protoExact = rnd(4) !== 0;
    if (protoExact) { nwm |= 0xff000000; nwv |= proto << 24; }
    if (rnd(3) === 0) { nwm |= 0xfc0000; nwv |= rnd(64) << 18; }
    if (rnd(3) === 0) { nwm |= 0x030000; nwv |= rnd(4) << 16; }
    if (rnd(3) === 0) { nwm |= 0xff00; nwv |= rnd(256) << 8; }
    if (rnd(5)) { const fm = pick([3, 1, 2]); nwm |= fm; nwv |= pick([0, 1, 3]) & fm; }
    set(P.W_NW, nwv, nwm);
    if (!protoExact || nwv & 2) return { key, mask };
    const v6 = dl === 0x86dd;
    if (proto === 6 || proto === 17 || proto === 132) {
      const ms = pick([0xffff, 0, 0xff00, rnd(0x10000)]);
      const md = pick([0xffff, 0, 0x00f0, rnd(0x10000)]);
      set(P.W_TP, r32(), ((ms << 16) | md) >>> 0);
      if (proto === 6 && rnd(2)) set(P.W_TCP_FLAGS, rnd(0x1000), pick([0xfff, 0x012, 0x002, rnd(0x1000)]));
    } else if ((proto === 1 && !v6) || (proto === 58 && v6)) {
      const type = v6 ? pick([135, 136, 128, 1]) : rnd(256);
      const tm = rnd(4) ? 0xffff : 0;
      const cm = rnd(3) ? 0xffff : 0;
      const code = cm && rnd(3) ? 0 : rnd(256);
      set(P.W_TP, (type << 16) | code, ((tm << 16) | cm) >>> 0);
      if (v6 && tm && cm && code === 0 && (type === 135 || type === 136)) {
        if (rnd(2)) for (let i = 0; i < 4; i++) set(P.W_ND_TARGET + i, r32(), 0xffffffff);
        const hi = type === 135 ? P.W_ARP_SHA_HI : P.W_ARP_THA_HI;
        if (rnd(2)) { set(hi, rnd(0x10000), 0xffff); set(hi + 1, r32(), pick([0xffffffff, 0xff000000])); }
        if (rnd(3) === 0) set(P.W_IGMP_GROUP, r32(), 0xffffffff);
        if (rnd(3) === 0) set(P.W_TCP_FLAGS, rnd(256), 0xffff);
      }
    }
    return { key, mask };
  };
}
