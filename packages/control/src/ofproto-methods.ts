/**
 * Control methods of the OpenFlow layer (served by the daemon's switch plug-in once its `Ofproto`
 * bridge runs): rules in ovs-ofctl syntax and format, trace, MAC table, upcalls and revalidators,
 * packet-ins. Names follow OVS (`ovs-ofctl` commands under `ofctl/`, `ovs-appctl` commands as
 * they are: `ofproto/trace`, `fdb/show`, `upcall/show`, `revalidator/*`).
 */
import { z } from 'zod';

/** One OpenFlow rule as `ofctl/dump-flows` returns it (besides the dump-flows text line). */
export interface OfRuleJson {
  table: number;
  priority: number;
  /** `0x...`. */
  cookie: string;
  /** Seconds since the rule was added. */
  durationS: number;
  nPackets: number;
  nBytes: number;
  idleTimeout: number;
  hardTimeout: number;
  /** Whole seconds since the last packet (or since added). */
  idleAgeS: number;
  /** ovs-ofctl match (`priority=...` excluded), empty for match-all. */
  match: string;
  /** ovs-ofctl actions (`output:2`, `NORMAL`, `drop`). */
  actions: string;
  /** The dump-flows line. */
  text: string;
}

/** One packet-in (`tsvs monitor`). */
export interface PacketInJson {
  /** Sequence number (ascending; monitor polls with `after`). */
  seq: number;
  timeMs: number;
  kind: 'controller' | 'userspace';
  /** OpenFlow in_port, as a number. */
  inPort: number;
  /** `no_match`, `action`, `invalid_ttl`, ... */
  reason: string;
  tableId: number;
  cookie: string;
  totalLen: number;
  /** The packet (cut to the action's max_len), hex. */
  packet: string;
  userdata: string;
  /** The `ovs-ofctl monitor` text of it. */
  text: string;
}

export interface OfprotoMethods {
  /** `ovs-ofctl add-flow BR FLOW`. */
  'ofctl/add-flow': { params: { flow: string }; result: { rules: number } };
  /** `ovs-ofctl add-flows BR FILE`: every line one rule, applied as one change (all or nothing). */
  'ofctl/add-flows': { params: { flows: string[] }; result: { added: number; rules: number } };
  /** `ovs-ofctl mod-flows [--strict] BR FLOW`. */
  'ofctl/mod-flows': { params: { flow: string; strict?: boolean }; result: { modified: number; rules: number } };
  /** `ovs-ofctl del-flows [--strict] BR [MATCH]`. */
  'ofctl/del-flows': { params: { match?: string; strict?: boolean }; result: { deleted: number; rules: number } };
  /** `ovs-ofctl dump-flows [--names] [--no-stats] [--strict] BR [MATCH]`. */
  'ofctl/dump-flows': {
    params: { match?: string; names?: boolean; noStats?: boolean; strict?: boolean };
    result: { rules: OfRuleJson[]; text: string };
  };
  /**
   * `ovs-appctl ofproto/trace BR FLOW` or `... in_port=N PACKET`: `flow` (ovs-ofctl flow syntax), or
   * `packets` (hex frames, traced in order; NORMAL learns from them) with `inPort` (name or number).
   */
  'ofproto/trace': {
    params: { flow?: string; packets?: string[]; inPort?: string; names?: boolean };
    result: { traces: { text: string; datapathActions: string }[]; text: string };
  };
  /** `ovs-appctl fdb/show BR` (and `fdb/stats-show`). */
  'fdb/show': { params: { names?: boolean }; result: { text: string; stats: string } };
  /** `ovs-appctl fdb/flush BR`. */
  'fdb/flush': { params: Record<string, never>; result: { flushed: true } };
  /** `ovs-appctl upcall/show`: OVS's text and tsvs's additions; `data` for --json. */
  'upcall/show': { params: Record<string, never>; result: { text: string; data: Record<string, unknown>; handlers: string } };
  /** `ovs-appctl upcall/set-flow-limit N`. */
  'upcall/set-flow-limit': { params: { limit: number }; result: { limit: number } };
  /** `ovs-appctl revalidator/wait|purge|pause|resume`. */
  'revalidator/wait': { params: Record<string, never>; result: { rounds: number } };
  'revalidator/purge': { params: Record<string, never>; result: { flows: number } };
  'revalidator/pause': { params: Record<string, never>; result: { paused: true } };
  'revalidator/resume': { params: Record<string, never>; result: { paused: false } };
  /**
   * Packet-ins after sequence `after` (long poll: waits up to `waitMs` for one). `next` is the
   * `after` of the next call; `lost` counts packet-ins the daemon no longer held (it keeps the last 1000).
   */
  'ofproto/packet-ins': {
    params: { after?: number; waitMs?: number; names?: boolean };
    result: { items: PacketInJson[]; next: number; lost: number };
  };
}

const none = z.strictObject({});
const flowText = z.string().max(65536);

export const ofprotoParamSchemas = {
  'ofctl/add-flow': z.strictObject({ flow: flowText.min(1) }),
  'ofctl/add-flows': z.strictObject({ flows: z.array(flowText).max(1_000_000) }),
  'ofctl/mod-flows': z.strictObject({ flow: flowText.min(1), strict: z.boolean().optional() }),
  'ofctl/del-flows': z.strictObject({ match: flowText.optional(), strict: z.boolean().optional() }),
  'ofctl/dump-flows': z.strictObject({
    match: flowText.optional(), names: z.boolean().optional(), noStats: z.boolean().optional(), strict: z.boolean().optional(),
  }),
  'ofproto/trace': z
    .strictObject({
      flow: flowText.min(1).optional(),
      packets: z.array(z.string().max(2 * 65535).regex(/^([0-9a-fA-F]{2})*$/, 'must be an even number of hex digits')).min(1).max(100_000).optional(),
      inPort: z.string().min(1).max(15).optional(),
      names: z.boolean().optional(),
    })
    .refine((p) => (p.flow === undefined) !== (p.packets === undefined), 'give exactly one of flow, packets')
    .refine((p) => p.packets === undefined || p.inPort !== undefined, 'packets need inPort'),
  'fdb/show': z.strictObject({ names: z.boolean().optional() }),
  'fdb/flush': none,
  'upcall/show': none,
  'upcall/set-flow-limit': z.strictObject({ limit: z.number().int().min(0).max(0x7fffffff) }),
  'revalidator/wait': none,
  'revalidator/purge': none,
  'revalidator/pause': none,
  'revalidator/resume': none,
  'ofproto/packet-ins': z.strictObject({
    after: z.number().int().min(0).optional(),
    waitMs: z.number().int().min(0).max(60_000).optional(),
    names: z.boolean().optional(),
  }),
} satisfies { [M in keyof OfprotoMethods]: z.ZodType<OfprotoMethods[M]['params']> };
