/**
 * Control methods of the switch itself (served by the daemon's switch plug-in, apps/vswitchd
 * src/switch): ports, frame injection, datapath flows (OVS `ovs-appctl dpctl/*`), PMD statistics
 * (`dpif-netdev/pmd-*`) and the raw counters behind `tsvs watch`.
 *
 * Names follow OVS's appctl commands where one exists. Ports are named by their name (OVS Interface
 * name); odp port numbers appear in datapath flows exactly as OVS prints them.
 */
import { z } from 'zod';

/** Port providers (packages/netdev): `memory` (netdev-dummy), `pcap-file`, `system` (AF_PACKET), `internal` (TAP). */
export const PORT_TYPE_NAMES = ['memory', 'pcap-file', 'system', 'internal'] as const;
export type PortTypeName = (typeof PORT_TYPE_NAMES)[number];

/** OVS Port vlan_mode values (ovs-vswitchd.conf.db(5), "VLAN Configuration"). */
export const VLAN_MODES = ['access', 'trunk', 'native-tagged', 'native-untagged'] as const;
export type VlanModeName = (typeof VLAN_MODES)[number];

/** A port's VLAN settings, as OVS's Port table columns tag, trunks, vlan_mode. */
export interface PortVlan {
  tag?: number;
  trunks?: number[];
  vlan_mode?: VlanModeName;
}

/** OpenFlow physical port numbers run 1..0xfeff (OFPP_MAX). */
export const OFPORT_MAX = 0xfeff;
/** OFPP_LOCAL: the bridge's own port in OpenFlow. */
export const OFPP_LOCAL = 0xfffe;

/** One datapath flow as `dpctl` methods return it. */
export interface DpctlFlow {
  /** `ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  ufid: string;
  /** The match in ODP key syntax with masks (`recirc_id(0),in_port(1),eth(),...`); absent in terse dumps. */
  match?: string;
  /** ODP actions (`2,push_vlan(vid=10,pcp=0),3`, `drop`); absent in terse dumps. */
  actions?: string;
  packets: number;
  bytes: number;
  /** ms since the last packet; null: never used. */
  usedMsAgo: number | null;
  /** OR of the TCP flags seen, as OVS prints them (`S.`, `SF.`); null when none. */
  tcpFlags: string | null;
}

/** Per-PMD counters (names of @tsvs/dpif PMD_COUNTER_NAMES; cycles are ns). */
export interface PmdCountersJson {
  pmdId: number;
  counters: Record<string, number>;
}

/** Raw cumulative counters at one instant: `tsvs watch` turns two samples into rates. */
export interface StatsSample {
  /** Daemon wall clock, ms since the epoch. */
  timeMs: number;
  flows: { current: number; limit: number | null };
  pmds: { pmdId: number; recv: number; emcHit: number; maskedHit: number; miss: number; lost: number; busyNs: number; idleNs: number; sleepNs: number }[];
  ports: { name: string; odpPort: number; rxPackets: number; txPackets: number; rxDropped: number; txDropped: number; rxErrors: number; txErrors: number }[];
  /** Revalidator threads (empty until the OpenFlow layer runs them). */
  revalidators: { id: number; keys: number; dumped: number; swept: number }[];
  /** Revalidation rounds: totals since start (deleted and modified flows), duration of the last round. */
  revalidation: { rounds: number; deleted: number; modified: number; lastRoundMs: number; dumpDurationMs: number } | null;
  restarts: Record<string, number>;
}

export interface SwitchMethods {
  /** Adds a port (OVS `ovs-vsctl add-port`); saved in the config. */
  'port/add': {
    params: { name: string; type: PortTypeName; ofport?: number; options?: Record<string, string> } & PortVlan;
    result: { name: string; type: string; ofport: number; odpPort: number } & PortVlan;
  };
  /** Deletes a port; saved in the config. */
  'port/del': { params: { name: string }; result: { name: string; ofport: number | null; odpPort: number | null } };
  /**
   * Receives frames on a memory port as if from the wire (OVS `netdev-dummy/receive`). `frames` are
   * hex strings; the list is received `count` times (default 1). `queued` frames entered the port's
   * receive queue; the others were dropped (queue full for too long, no packet buffer) or refused
   * (larger than a buffer).
   */
  'netdev/inject': {
    params: { port: string; frames: string[]; count?: number; rxq?: number };
    result: { port: string; queued: number; dropped: number };
  };
  /** `dpctl/dump-flows`: `verbose` adds UFIDs (-m), `terse` lists UFIDs and stats only. */
  'dpctl/dump-flows': { params: { verbose?: boolean; terse?: boolean }; result: { flows: DpctlFlow[]; text: string } };
  /** `dpctl/get-flow UFID`. */
  'dpctl/get-flow': { params: { ufid: string }; result: { flow: DpctlFlow; text: string } };
  /** `dpctl/add-flow FLOW ACTIONS` (CREATE). */
  'dpctl/add-flow': { params: { flow: string; actions: string }; result: { ufid: string } };
  /** `dpctl/mod-flow FLOW ACTIONS` (MODIFY; `create` adds CREATE, `zeroStats` ZERO_STATS). */
  'dpctl/mod-flow': { params: { flow: string; actions: string; create?: boolean; zeroStats?: boolean }; result: { ufid: string; created: boolean } };
  /** `dpctl/del-flow UFID|FLOW`: returns the flow's final stats. */
  'dpctl/del-flow': { params: { ufid?: string; flow?: string }; result: { flow: DpctlFlow; text: string } };
  /** `dpctl/del-flows`. */
  'dpctl/del-flows': { params: Record<string, never>; result: { deleted: number } };
  /** `dpif-netdev/pmd-stats-show` (with `clear`: then `pmd-stats-clear`). */
  'pmd/stats-show': { params: { clear?: boolean }; result: { text: string; pmds: PmdCountersJson[] } };
  /** `dpif-netdev/pmd-stats-clear`. */
  'pmd/stats-clear': { params: Record<string, never>; result: { cleared: number } };
  /** `dpif-netdev/pmd-rxq-show`. */
  'pmd/rxq-show': {
    params: { secs?: number };
    result: { text: string; pmds: { pmdId: number; rxqs: { port: string; rxq: number }[] }[] };
  };
  /** Counters for `tsvs watch`. */
  'stats/sample': { params: Record<string, never>; result: StatsSample };
}

const none = z.strictObject({});
const portName = z.string().min(1).max(15);
const hexFrame = z
  .string()
  .max(2 * 65535)
  .regex(/^([0-9a-fA-F]{2})*$/, 'must be an even number of hex digits');
const ufidText = z.string().min(1).max(64);
const flowText = z.string().min(1).max(65536);

/** Params schemas of the methods above (the daemon validates every request against them). */
export const switchParamSchemas = {
  'port/add': z.strictObject({
    name: portName,
    type: z.enum(PORT_TYPE_NAMES),
    ofport: z.number().int().min(1).max(OFPORT_MAX).optional(),
    options: z.record(z.string().min(1).max(64), z.string().max(4096)).optional(),
    tag: z.number().int().min(0).max(4095).optional(),
    trunks: z.array(z.number().int().min(0).max(4095)).max(4096).optional(),
    vlan_mode: z.enum(VLAN_MODES).optional(),
  }),
  'port/del': z.strictObject({ name: portName }),
  'netdev/inject': z.strictObject({
    port: portName,
    frames: z.array(hexFrame).min(1).max(65536),
    count: z.number().int().min(1).max(100_000_000).optional(),
    rxq: z.number().int().min(0).max(63).optional(),
  }),
  'dpctl/dump-flows': z.strictObject({ verbose: z.boolean().optional(), terse: z.boolean().optional() }),
  'dpctl/get-flow': z.strictObject({ ufid: ufidText }),
  'dpctl/add-flow': z.strictObject({ flow: flowText, actions: flowText }),
  'dpctl/mod-flow': z.strictObject({ flow: flowText, actions: flowText, create: z.boolean().optional(), zeroStats: z.boolean().optional() }),
  'dpctl/del-flow': z
    .strictObject({ ufid: ufidText.optional(), flow: flowText.optional() })
    .refine((p) => (p.ufid === undefined) !== (p.flow === undefined), 'give exactly one of ufid, flow'),
  'dpctl/del-flows': none,
  'pmd/stats-show': z.strictObject({ clear: z.boolean().optional() }),
  'pmd/stats-clear': none,
  'pmd/rxq-show': z.strictObject({ secs: z.number().int().min(1).max(60).optional() }),
  'stats/sample': none,
} satisfies { [M in keyof SwitchMethods]: z.ZodType<SwitchMethods[M]['params']> };
