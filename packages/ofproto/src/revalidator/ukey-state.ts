/**
 * ukey states and their legal transitions, as OVS 3.1 (ofproto/ofproto-dpif-upcall.c
 * `enum ukey_state`, `transition_ukey_at`).
 *
 *   CREATED       made, not yet in a umap
 *   VISIBLE       in its umap; the datapath flow install is queued (a handler is putting it)
 *   OPERATIONAL   in its umap; the datapath flow is installed (handler put succeeded, or a dump saw it)
 *   INCONSISTENT  in its umap; a revalidator's modify of the flow failed
 *   EVICTING      in its umap; a delete of the datapath flow is queued
 *   EVICTED       in its umap; the datapath flow is deleted (or never made it)
 *   DELETED       out of its umap; its record is free
 *
 * Legal: a step to the next state; from VISIBLE to any state before DELETED; OPERATIONAL to
 * EVICTING. OPERATIONAL to OPERATIONAL is a no-op. Anything else is refused (OVS aborts on a step
 * backwards and logs other illegal steps; tsvs refuses both and counts them, see UkeyTable).
 */

export const UKEY_CREATED = 0;
export const UKEY_VISIBLE = 1;
export const UKEY_OPERATIONAL = 2;
export const UKEY_INCONSISTENT = 3;
export const UKEY_EVICTING = 4;
export const UKEY_EVICTED = 5;
export const UKEY_DELETED = 6;

export type UkeyState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** State names, indexed by state (for logs and `ukey show`-style output). */
export const UKEY_STATE_NAMES: readonly string[] = [
  'CREATED', 'VISIBLE', 'OPERATIONAL', 'INCONSISTENT', 'EVICTING', 'EVICTED', 'DELETED',
];

/**
 * Whether `from -> to` is a legal ukey transition (OVS transition_ukey_at). `from === to` is legal
 * only for OPERATIONAL (a no-op there).
 */
export function ukeyTransitionOk(from: number, to: number): boolean {
  if (to < from || to < UKEY_CREATED || to > UKEY_DELETED) return false;
  if (from === to) return to === UKEY_OPERATIONAL;
  return from === to - 1
    || (from === UKEY_VISIBLE && to < UKEY_DELETED)
    || (from === UKEY_OPERATIONAL && to === UKEY_EVICTING);
}
