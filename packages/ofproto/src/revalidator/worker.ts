/**
 * Revalidator thread entry (worker_threads). Started by `Revalidators` with workerData
 * `RevalWorkerData`; attaches to the shared flow table and ukey table, loads its translator, then
 * answers phase commands from the control plane (one at a time, in order):
 *
 *   → { type: 'dump', round, revalSeq }                   ← { type: 'dumped', round, counters, credits }
 *   → { type: 'sweep', round, slice, n, purge, revalSeq } ← { type: 'swept', round, counters, credits }
 *     (revalSeq: the revalidation sequence when the phase was sent; see RevalidatorCore.dumpPhase)
 *   → { type: 'update', msg }                             (translator.update(msg); no answer)
 *   → { type: 'config', cfg }                             (new RevalConfig; no answer)
 *   → { type: 'stop' }                                    (closes the port; the thread exits)
 *   → { type: 'crash' }                                   (fault injection: throws, uncaught; the thread dies)
 *   at start                                              ← { type: 'ready', threadId } or { type: 'fatal', error }
 *   a phase that throws                                   ← { type: 'failed', round, error }
 *
 * Credits travel with the phase answer, so the control plane has credited a round's stats before
 * it sees the round end. Typed arrays in answers are transferred, not copied.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { FlowTable } from '@tsvs/dpif';
import { RevalidatorCore, type RevalConfig } from './revalidate.js';
import { newCounters } from './reval-stats.js';
import { loadTranslator } from './translator.js';
import { UkeyTable } from './ukey-table.js';
import { nameThread } from '@tsvs/netdev';

export interface RevalWorkerData {
  flowTableSab: SharedArrayBuffer;
  ukeySab: SharedArrayBuffer;
  translator: { module: string; export?: string; init: unknown };
  cfg: RevalConfig;
}

type Cmd =
  | { type: 'dump'; round: number; revalSeq: number }
  | { type: 'sweep'; round: number; slice: number; n: number; purge: boolean; revalSeq: number }
  | { type: 'update'; msg: unknown }
  | { type: 'config'; cfg: RevalConfig }
  | { type: 'stop' }
  | { type: 'crash' };

const port = parentPort!;
const data = workerData as RevalWorkerData;
nameThread(`revalidator${threadId}`); // as OVS names its revalidators (lib/ovs-thread.c)

async function main(): Promise<void> {
  let core: RevalidatorCore;
  try {
    const flows = FlowTable.attach(data.flowTableSab);
    const ukeys = UkeyTable.attach(data.ukeySab);
    const xlate = await loadTranslator(data.translator.module, data.translator.export, data.translator.init);
    core = new RevalidatorCore(flows, ukeys, xlate, data.cfg);
  } catch (e) {
    port.postMessage({ type: 'fatal', error: e instanceof Error ? e.stack ?? e.message : String(e) });
    return;
  }
  port.on('message', (cmd: Cmd) => {
    switch (cmd.type) {
      case 'update':
        try {
          core.xlate.update?.(cmd.msg);
        } catch (e) {
          port.postMessage({ type: 'failed', round: -1, error: `translator update: ${e instanceof Error ? e.message : String(e)}` });
        }
        return;
      case 'config':
        core.cfg = cmd.cfg;
        return;
      case 'stop':
        port.close();
        return;
      case 'crash':
        throw new Error(`revalidator thread ${threadId}: crashed on request (fault injection)`);
      case 'dump':
      case 'sweep': {
        try {
          if (cmd.type === 'dump') core.dumpPhase(cmd.revalSeq);
          else core.sweepPhase(cmd.slice, cmd.n, cmd.purge, cmd.revalSeq);
        } catch (e) {
          port.postMessage({ type: 'failed', round: cmd.round, error: e instanceof Error ? e.stack ?? e.message : String(e) });
        }
        const counters = core.counters;
        core.counters = newCounters();
        const credits = core.credits.take();
        port.postMessage(
          { type: cmd.type === 'dump' ? 'dumped' : 'swept', round: cmd.round, counters, credits },
          [credits.ids.buffer, credits.packets.buffer, credits.bytes.buffer, credits.used.buffer] as ArrayBuffer[],
        );
        return;
      }
    }
  });
  port.postMessage({ type: 'ready', threadId });
}

void main();
