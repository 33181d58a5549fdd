/**
 * Deterministic generator of structured random Ethernet frames aimed at the branches of OVS
 * miniflow_extract: VLAN stacks, 802.3/LLC/SNAP, MPLS stacks, ARP/RARP with odd fields, IPv4 with
 * options/fragments/bad lengths, IPv6 extension chains and fragments, TCP/UDP/SCTP/ICMP/IGMP of
 * every length, ICMPv6 ND with random options; then padding and random truncation.
 * Used by the OVS golden generator (../fixtures/make-goldens.ts) and the property tests.
 */
export type Rng = (n: number) => number;

/** xorshift32; `rng(n)` is uniform in [0, n). */
export function makeRng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return (n: number): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

export function makeFrameGen(seed: number, maxLen = 128): () => Uint8Array {
  const rnd = makeRng(seed);
  const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
  const bytes = (n: number): number[] => Array.from({ length: n }, () => rnd(256));
  const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
  const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const mac = (): number[] => (rnd(3) ? bytes(6) : pick([[0, 0, 0, 0, 0, 0], [255, 255, 255, 255, 255, 255], [1, 0, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1]]));

  function l4(proto: number, v6: boolean): number[] {
    const n = pick([0, 4, 7, 8, 11, 12, 19, 20, 24, 32, 40]);
    const b = bytes(n);
    if (proto === 6 && n >= 13) b[12] = (pick([0, 3, 4, 5, 6, 8, 15]) << 4) | rnd(16);
    if ((proto === 58 || proto === 1) && n >= 2) {
      b[0] = v6 ? pick([128, 129, 133, 134, 135, 136, 137, 1, rnd(256)]) : pick([0, 3, 8, 11, rnd(256)]);
      b[1] = rnd(4) ? 0 : rnd(256);
    }
    if (proto === 58 && v6 && (b[0] === 135 || b[0] === 136)) {
      const t: number[] = [];
      b.length = 8;
      if (rnd(6)) {
        t.push(...bytes(16));
        const no = rnd(5);
        for (let i = 0; i < no; i++) {
          const ln = pick([1, 1, 1, 0, 2, 3]);
          const o = [pick([1, 2, 1, 2, 3, 5, 14]), ln, ...(rnd(5) ? bytes(6) : [0, 0, 0, 0, 0, 0])];
          for (let j = 8; j < ln * 8; j++) o.push(rnd(256));
          t.push(...o);
        }
        if (rnd(4) === 0) t.length = rnd(t.length + 1);
      } else {
        t.push(...bytes(rnd(16)));
      }
      return b.concat(t);
    }
    return b;
  }

  function ipv4(): number[] {
    const ihl = pick([5, 5, 5, 6, 8, 15, 4, 0, 3]);
    const proto = pick([6, 17, 1, 2, 132, 47, 58, 0, 41, rnd(256)]);
    const opts = bytes(Math.max(0, ihl * 4 - 20));
    const pay = l4(proto, false);
    let tot = 20 + opts.length + pay.length;
    const m = rnd(10);
    if (m === 0) tot = rnd(65536);
    else if (m === 1) tot += 1;
    else if (m === 2) tot -= 1 + rnd(8);
    const frag = pick([0, 0, 0, 0x4000, 0x2000, 0x2001, 0x0001, 0x1fff, 0x8000, 0x6000 | rnd(0x2000)]);
    return [0x40 | ihl, rnd(256), ...u16(tot & 0xffff), ...bytes(2), ...u16(frag), rnd(256), proto, 0, 0, ...bytes(8), ...opts, ...pay];
  }

  function ipv6(): number[] {
    const exts: number[] = [];
    for (let i = pick([0, 0, 1, 2, 3]); i > 0; i--) exts.push(pick([0, 43, 60, 51, 44, 44]));
    let next = pick([6, 17, 58, 132, 1, 2, 59, rnd(256)]);
    const upper = next;
    const hdrs: number[][] = [];
    for (let i = exts.length - 1; i >= 0; i--) {
      const t = exts[i]!;
      let h: number[];
      if (t === 44) h = [next, rnd(4) ? 0 : rnd(256), ...u16(pick([0, 0, 1, 8, 0x10, 0xfff8, 6, rnd(65536)])), ...bytes(4)];
      else if (t === 51) { const len = pick([0, 1, 2, 4]); h = [next, len, ...bytes((len + 2) * 4 - 2)]; }
      else { const len = pick([0, 0, 1, 2]); h = [next, len, ...bytes((len + 1) * 8 - 2)]; }
      hdrs.unshift(h);
      next = t;
    }
    const pay = ([] as number[]).concat(...hdrs, l4(upper, true));
    let plen = pay.length;
    const m = rnd(10);
    if (m === 0) plen = rnd(65536);
    else if (m === 1) plen += 1;
    else if (m === 2) plen = Math.max(0, plen - 1 - rnd(8));
    const tc = rnd(256);
    const fl = rnd(4) ? rnd(1 << 20) : 0;
    return [0x60 | (tc >> 4), ((tc & 15) << 4) | (fl >> 16), (fl >> 8) & 255, fl & 255, ...u16(plen & 0xffff), next, rnd(256), ...bytes(32), ...pay];
  }

  function arp(): number[] {
    return [...u16(rnd(8) ? 1 : rnd(4)), ...u16(rnd(8) ? 0x0800 : 0x86dd), rnd(8) ? 6 : rnd(10), rnd(8) ? 4 : rnd(10),
      ...u16(rnd(4) ? pick([1, 2, 3, 4]) : rnd(65536)), ...mac(), ...bytes(4), ...mac(), ...bytes(4)];
  }

  return function frame(): Uint8Array {
    const f = [...mac(), ...mac()];
    for (let i = pick([0, 0, 0, 1, 1, 2, 3]); i > 0; i--) f.push(...u16(pick([0x8100, 0x88a8, 0x8100])), ...u16(rnd(65536)));
    const kind = pick(['ip4', 'ip4', 'ip6', 'ip6', 'arp', 'rarp', 'mpls', 'llc', 'snap', 'other']);
    if (kind === 'ip4') f.push(8, 0, ...ipv4());
    else if (kind === 'ip6') f.push(0x86, 0xdd, ...ipv6());
    else if (kind === 'arp' || kind === 'rarp') f.push(...u16(kind === 'arp' ? 0x0806 : 0x8035), ...arp());
    else if (kind === 'mpls') {
      f.push(...u16(pick([0x8847, 0x8848])));
      const n = 1 + rnd(5);
      for (let i = 0; i < n; i++) {
        const bos = i === n - 1 ? rnd(4) !== 0 : rnd(6) === 0;
        f.push(...u32((rnd(1 << 20) << 12) | (rnd(8) << 9) | (bos ? 0x100 : 0) | rnd(256)));
      }
      f.push(...(rnd(2) ? [0x45, ...bytes(19)] : bytes(rnd(20))));
    } else if (kind === 'llc') f.push(...u16(rnd(0x600)), ...bytes(3 + rnd(40)));
    else if (kind === 'snap') {
      const t = pick([0x0800, 0x86dd, 0x0806, 0x8100, 0x0100, 0x05ff, 0x0600, rnd(65536)]);
      f.push(...u16(rnd(0x600)), 0xaa, 0xaa, rnd(8) ? 3 : rnd(256), 0, 0, rnd(8) ? 0 : 1, ...u16(t));
      if (t === 0x0800) f.push(...ipv4());
      else if (t === 0x86dd) f.push(...ipv6());
      else f.push(...bytes(rnd(30)));
    } else {
      // 0x894f (NSH) is left out on purpose: the flow key has no NSH words (see README).
      f.push(...u16(pick([0x88cc, 0x88a8, 0x8100, 0x0600, 0xffff, rnd(65536)])), ...bytes(rnd(40)));
    }
    if (rnd(4) === 0) f.push(...bytes(rnd(24)));
    if (rnd(6) === 0) f.length = Math.min(f.length, rnd(f.length + 1));
    if (f.length < 14 && rnd(2)) while (f.length < 14) f.push(rnd(256));
    if (f.length > maxLen) f.length = maxLen;
    return Uint8Array.from(f);
  };
}

/** Flips, overwrites and truncates bytes of `src` (a copy is returned). */
export function mutateFrame(src: Uint8Array, rnd: Rng): Uint8Array {
  const fr = Uint8Array.from(src);
  for (let j = 1 + rnd(4); j > 0; j--) {
    if (fr.length === 0) break;
    const at = rnd(Math.min(fr.length, rnd(2) ? 64 : 160));
    const kind = rnd(10);
    if (kind < 5) fr[at] = rnd(256);
    else if (kind < 7) fr[at] ^= 1 << rnd(8);
    else if (kind === 7) {
      const t = [0x8100, 0x88a8, 0x8847, 0x0800, 0x86dd, 0x0806, 0x8035, 0x0050][rnd(8)]!;
      const p = 12 + 4 * rnd(3);
      if (p + 1 < fr.length) { fr[p] = t >> 8; fr[p + 1] = t & 255; }
    } else if (kind === 8) fr[at] = [0, 1, 2, 6, 17, 43, 44, 51, 58, 60, 132, 135, 136, 0xff][rnd(14)]!;
    else fr[at] = rnd(2) ? 0 : 0xff;
  }
  return rnd(3) === 0 ? fr.subarray(0, rnd(fr.length + 1)) : fr;
}
