/**
 * OpenFlow port numbers as ovs-ofctl reads and prints them (OpenFlow 1.0 numbering, as OVS uses
 * internally): OVS 3.1 `ofputil_port_from_string()` / `ofputil_format_port()` (lib/ofp-port.c).
 *
 * Physical ports are 1..0xfeff; reserved ports have names. A `PortMap` (name <-> number) lets
 * rules name ports (`in_port=p1`, `output:p1`) and `--names`-style printing.
 */
import { formatOfpPort, formatPortName, parseOfpPort } from '@tsvs/packet';

/** One past the highest physical port (OFPP_MAX). */
export const OFPP_MAX = 0xff00;
export const OFPP_UNSET = 0xfff7;
export const OFPP_IN_PORT = 0xfff8;
export const OFPP_TABLE = 0xfff9;
export const OFPP_NORMAL = 0xfffa;
export const OFPP_FLOOD = 0xfffb;
export const OFPP_ALL = 0xfffc;
export const OFPP_CONTROLLER = 0xfffd;
export const OFPP_LOCAL = 0xfffe;
/** OFPP_ANY, also spelled NONE: "no port". */
export const OFPP_NONE = 0xffff;
/** First reserved port number (OFPP_FIRST_RESV). */
export const OFPP_FIRST_RESV = 0xfff7;

/** Port names (bidirectional), e.g. built from the daemon's port list. */
export interface PortMap {
  byName: ReadonlyMap<string, number>;
  byNumber: ReadonlyMap<number, string>;
}

/** A PortMap from `[name, number]` pairs. */
export function makePortMap(entries: Iterable<readonly [string, number]>): PortMap {
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  for (const [name, num] of entries) {
    byName.set(name, num);
    byNumber.set(num, name);
  }
  return { byName, byNumber };
}

/**
 * OVS `ofputil_port_from_string`: a decimal number (0..0xffff, or an OpenFlow 1.1 32-bit reserved
 * number), a reserved name (case-insensitive: IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER,
 * LOCAL, ANY/NONE, UNSET), or a name from `portMap` (optionally in double quotes). Returns
 * undefined if `s` is none of these.
 */
export function parsePort(s: string, portMap?: PortMap): number | undefined {
  return parseOfpPort(s, portMap ? { portByName: (n) => portMap.byName.get(n) } : undefined);
}

/** OVS `ofputil_format_port`: reserved name, else the port map's name, else the decimal number. */
export function formatPort(port: number, portMap?: PortMap): string {
  if (port >= OFPP_FIRST_RESV) return formatOfpPort(port);
  const name = portMap?.byNumber.get(port);
  // Quoted unless a letter then letters and digits: OVS lib/namemap.c namemap_put_name.
  if (name !== undefined) return formatPortName(name);
  return String(port);
}
