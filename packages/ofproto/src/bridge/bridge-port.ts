/**
 * One port of a bridge as translation sees it: OVS's `struct xport` plus the VLAN settings of its
 * `struct xbundle` (ofproto/ofproto-dpif-xlate.c). tsvs has no bonds, so every port is its own
 * bundle.
 *
 * VLAN modes and their meaning are OVS 3.1's (`man ovs-vswitchd.conf.db`, Port table, "VLAN
 * Configuration"; vswitchd/bridge.c port_configure, ofproto/ofproto-dpif.c bundle_set):
 * - `access` (`tag=N`): carries VLAN N only, untagged on the wire. Default when `tag` is set.
 * - `trunk` (`trunks=...`, or all VLANs when `trunks` is empty): carries tagged frames of the
 *   listed VLANs; untagged frames are VLAN 0. Default when `tag` is not set.
 * - `native-tagged` / `native-untagged`: a trunk whose native VLAN (`tag`, default 0) is also
 *   accepted untagged; output of the native VLAN is tagged / untagged. As OVS, the native VLAN is
 *   forced into the trunk set and VLAN 0 out of it when either is needed.
 * Plain data: a PortConfig can be posted to worker threads.
 */
import { OfctlSyntaxError } from '../rules/tokenize.js';

export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged';

/** How a port is configured (what `ovs-vsctl add-port BR NAME [tag=N] [trunks=..] [vlan_mode=..]` sets). */
export interface PortConfig {
  /** Port name (interface name), unique in the bridge. */
  name: string;
  /** OpenFlow port number: 1..0xfeff, or OFPP_LOCAL (0xfffe) for the bridge's own port. */
  ofport: number;
  /** Datapath (odp) port number. */
  odpPort: number;
  /** VLAN mode; default: access if `tag` is set, else trunk (OVS). */
  vlanMode?: VlanMode;
  /** `tag`: the access VLAN, or the native VLAN of native-* modes (0..4095). */
  tag?: number;
  /** `trunks`: VLANs a trunk carries (0..4095); empty or absent = all. Ignored in access mode. */
  trunks?: readonly number[];
  /** OpenFlow port config NO_FLOOD: left out of FLOOD and NORMAL flooding. */
  noFlood?: boolean;
  /** OpenFlow port config NO_FWD: output to it is dropped. */
  noForward?: boolean;
  /** OpenFlow port config NO_RECV: packets received on it are dropped before any table. */
  noReceive?: boolean;
}

/** A configured port with its derived VLAN settings (OVS xbundle fields). Immutable. */
export class BridgePort {
  readonly name: string;
  readonly ofport: number;
  readonly odpPort: number;
  readonly vlanMode: VlanMode;
  /** OVS `bundle->vlan`: the access or native VLAN; -1 for trunks. */
  readonly vlan: number;
  /** OVS `bundle->trunks`: 4096 flags, or null for "all VLANs". Null for access ports too. */
  readonly trunks: Uint8Array | null;
  readonly floodable: boolean;
  readonly noForward: boolean;
  readonly noReceive: boolean;

  constructor(readonly config: Readonly<PortConfig>) {
    const c = config;
    checkInt(c.ofport, 1, 0xfffe, 'ofport');
    if (c.ofport > 0xfeff && c.ofport !== 0xfffe) throw new OfctlSyntaxError(`bad ofport ${c.ofport}: 1..65279, or 65534 (LOCAL)`);
    checkInt(c.odpPort, 0, 0xffffffff - 1, 'odp port');
    if (!c.name || /[\s,=()"]/.test(c.name)) throw new OfctlSyntaxError(`bad port name "${c.name}"`);
    if (c.tag !== undefined) checkInt(c.tag, 0, 4095, 'tag');
    for (const t of c.trunks ?? []) checkInt(t, 0, 4095, 'trunks');
    this.name = c.name;
    this.ofport = c.ofport;
    this.odpPort = c.odpPort;
    this.vlanMode = c.vlanMode ?? (c.tag !== undefined ? 'access' : 'trunk');
    // ofproto-dpif.c bundle_set: vlan = -1 for trunks, else the tag (0 if none).
    this.vlan = this.vlanMode === 'trunk' ? -1 : c.tag ?? 0;
    const given = c.trunks && c.trunks.length > 0 ? c.trunks : null;
    let trunks: Uint8Array | null = null;
    if (this.vlanMode === 'trunk') {
      trunks = given ? bitmap(given) : null;
    } else if (this.vlanMode !== 'access') {
      trunks = given ? bitmap(given) : null;
      if (this.vlan !== 0 && (!trunks || !trunks[this.vlan] || trunks[0])) {
        // Force trunking the native VLAN and prohibit trunking VLAN 0 (OVS).
        if (!trunks) trunks = new Uint8Array(4096).fill(1);
        trunks[this.vlan] = 1;
        trunks[0] = 0;
      }
    }
    this.trunks = trunks;
    this.floodable = !c.noFlood;
    this.noForward = !!c.noForward;
    this.noReceive = !!c.noReceive;
  }

  /** OVS xbundle_trunks_vlan: a non-access port whose trunk set includes `vid`. */
  trunksVlan(vid: number): boolean {
    return this.vlanMode !== 'access' && (this.trunks === null || this.trunks[vid] === 1);
  }

  /** OVS xbundle_includes_vlan for an internal VLAN stack whose outer VID is `vid0`, inner `vid1`. */
  includesVlan(vid0: number, vid1: number): boolean {
    if (this.vlanMode === 'access') return vid0 === this.vlan && vid1 === 0;
    return this.trunksVlan(vid0);
  }

  /** The settings as ovs-vsctl shows them, e.g. `tag=10`, `trunks=[10,20]`, `vlan_mode=native-tagged tag=5`. */
  describeVlan(): string {
    const c = this.config;
    const parts: string[] = [];
    if (c.vlanMode) parts.push(`vlan_mode=${c.vlanMode}`);
    if (c.tag !== undefined) parts.push(`tag=${c.tag}`);
    if (c.trunks && c.trunks.length) parts.push(`trunks=[${[...c.trunks].sort((a, b) => a - b).join(',')}]`);
    return parts.join(' ');
  }
}

function checkInt(v: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new OfctlSyntaxError(`bad ${what} ${String(v)}: ${min}..${max}`);
}

function bitmap(vids: readonly number[]): Uint8Array {
  const b = new Uint8Array(4096);
  for (const v of vids) b[v] = 1;
  return b;
}

/**
 * Parses a VLAN list as `ovs-vsctl set port P trunks=...` takes it: `10,20,30` or `[10,20]`, and
 * (a tsvs convenience) ranges `100-110`. Empty string = no list.
 * @throws OfctlSyntaxError naming the bad element.
 */
export function parseVlanList(text: string): number[] {
  const s = text.trim().replace(/^\[/, '').replace(/\]$/, '').trim();
  if (s === '') return [];
  const out: number[] = [];
  for (const part of s.split(/[,\s]+/)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new OfctlSyntaxError(`bad VLAN "${part}" in trunks: expected 0..4095 or a range A-B`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (a > 4095 || b > 4095 || b < a) throw new OfctlSyntaxError(`bad VLAN "${part}" in trunks: expected 0..4095 or a range A-B`);
    for (let v = a; v <= b; v++) out.push(v);
  }
  return out;
}
