/**
 * The flow operations of the datapath interface (OVS lib/dpif.h struct dpif_flow_put / _del / _get,
 * dpif_operate), as the shared flow table implements them. Not for the per-packet path: these
 * objects are allocated per operation.
 */

/** Put flags, OVS enum dpif_flow_put_flags. */
/** Allow creating a new flow. */
export const DPIF_FP_CREATE = 1;
/** Allow modifying an existing flow (replace its actions). */
export const DPIF_FP_MODIFY = 2;
/** With MODIFY: zero the stats of the existing flow. */
export const DPIF_FP_ZERO_STATS = 4;
/** Suppress the log line a failed put would write (feature probes). */
export const DPIF_FP_PROBE = 8;

/**
 * Errors of flow operations, named as errno codes (as OVS returns them):
 * - EEXIST: put without MODIFY on a flow that exists (same UFID, or a flow that already matches the key);
 * - ENOENT: put without CREATE, get or del of a UFID that is not in the table;
 * - EINVAL: malformed key/mask/UFID, in_port not an exact match, a UFID that names a flow with
 *   another match, or a put with neither CREATE nor MODIFY on an existing flow;
 * - ENOSPC: no free flow entry, subtable or action slot;
 * - E2BIG: actions longer than the table's action slot (`actionsBytes`).
 */
export type FlowErrno = 'EEXIST' | 'ENOENT' | 'EINVAL' | 'ENOSPC' | 'E2BIG';

/** Flow statistics (OVS struct dpif_flow_stats). */
export interface FlowStats {
  /** Packets that hit the flow. */
  packets: number;
  /** Bytes of those packets (whole frames as the PMD counted them). */
  bytes: number;
  /** Last time a packet hit the flow, in the PMDs' monotonic clock (ms); 0 = never. */
  used: number;
  /** OR of the TCP flags (12 bits) of every packet that hit the flow; 0 for non-TCP flows. */
  tcpFlags: number;
}

/** A put (OVS struct dpif_flow_put). */
export interface FlowPut {
  /** DPIF_FP_* bits. */
  flags: number;
  /** Flow key: FLOW_WORDS words from `keyBase` (need not be masked; the table masks it). */
  key: Uint32Array;
  keyBase?: number;
  /** Mask: FLOW_WORDS words from `maskBase`; in_port (word 0) must be all ones. */
  mask: Uint32Array;
  maskBase?: number;
  /** Datapath actions, opaque bytes (packages/dpif/src/actions encoding), at most `actionsBytes`. */
  actions: Uint8Array;
  /** 128-bit UFID as 4 words (OVS ovs_u128 u32[0..3]); absent = derived from the masked key and mask. */
  ufid?: Uint32Array;
}

/** Outcome of a put. */
export interface FlowPutResult {
  /** 0 on success, else the error. */
  error: 0 | FlowErrno;
  /** The flow's UFID (the given one or the derived one). */
  ufid: Uint32Array;
  /** Created: zeros. Modified: the stats before the modification (OVS semantics). */
  stats: FlowStats;
  /** Index of the flow entry, -1 on error. */
  entry: number;
  /** True if the put created the flow, false if it modified one (or failed). */
  created: boolean;
}

/** A flow as get and full dumps return it. Key and mask are copies; key is masked. */
export interface FlowInfo {
  ufid: Uint32Array;
  key: Uint32Array;
  mask: Uint32Array;
  actions: Uint8Array;
  stats: FlowStats;
  /** Entry index (diagnostics). */
  entry: number;
}

/** A flow as a terse dump returns it (OVS dpif_flow_dump_create(terse=true)): UFID and stats. */
export interface FlowTerse {
  ufid: Uint32Array;
  stats: FlowStats;
  entry: number;
}

/** One element of a batch for `operate` (OVS struct dpif_op). */
export type FlowOp =
  | ({ type: 'put' } & FlowPut)
  | { type: 'del'; ufid: Uint32Array }
  | { type: 'get'; ufid: Uint32Array };

/** Result of one `operate` element, in the same order as the ops. */
export type FlowOpResult =
  | ({ type: 'put' } & FlowPutResult)
  | { type: 'del'; error: 0 | FlowErrno; stats: FlowStats }
  | { type: 'get'; error: 0 | FlowErrno; flow: FlowInfo | null };

/** Zeroed stats. */
export function zeroStats(): FlowStats {
  return { packets: 0, bytes: 0, used: 0, tcpFlags: 0 };
}
