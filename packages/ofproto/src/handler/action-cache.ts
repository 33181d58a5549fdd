/**
 * Encoded datapath actions for a handler's translations, cached: most translations of a bridge end
 * in the same few action lists (output to one port, a flood to the same ports), and encoding one
 * (`encodeFlowActions`) costs as much as a tenth of a flow setup in profiles. Lists made only of
 * outputs, up to 8 of them and not slow path, are looked up by their port numbers; anything else
 * is encoded each time. Cached arrays are shared by every flow that uses them: nobody writes to
 * encoded actions (the flow table and the ukey table copy them).
 */
import type { XlateAction } from '../xlate/odp-actions.js';
import { encodeFlowActions } from '../xlate/odp-actions.js';

const MAX_OUTPUTS = 8;
const MAX_ENTRIES = 4096;

export class ActionCache {
  private readonly one = new Map<number, Uint8Array>();
  private readonly many = new Map<string, Uint8Array>();
  hits = 0;
  misses = 0;

  /** `encodeFlowActions(actions, slow)`, from the cache when possible. */
  encode(actions: readonly XlateAction[], slow: number): Uint8Array {
    const n = actions.length;
    if (slow !== 0 || n === 0 || n > MAX_OUTPUTS) return encodeFlowActions(actions, slow);
    for (let i = 0; i < n; i++) if (actions[i]!.type !== 'output') return encodeFlowActions(actions, slow);
    if (n === 1) {
      const port = (actions[0] as { port: number }).port;
      let e = this.one.get(port);
      if (e === undefined) {
        this.misses++;
        e = encodeFlowActions(actions, 0);
        if (this.one.size < MAX_ENTRIES) this.one.set(port, e);
      } else this.hits++;
      return e;
    }
    let k = '';
    for (let i = 0; i < n; i++) k += `${(actions[i] as { port: number }).port},`;
    let e = this.many.get(k);
    if (e === undefined) {
      this.misses++;
      e = encodeFlowActions(actions, 0);
      if (this.many.size < MAX_ENTRIES) this.many.set(k, e);
    } else this.hits++;
    return e;
  }
}
