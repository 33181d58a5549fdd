/**
 * Messages between the supervisor (main thread) and a supervised worker thread, over the worker's
 * parentPort. Control only: nothing per packet goes this way (packets and stats use shared memory).
 *
 * supervisor -> worker
 *   { type: 'stop' }                         finish and exit (the supervisor terminates it after a grace period)
 *   { type: 'crash', how: 'throw' | 'exit' } fault injection: throw an uncaught exception / call process.exit(0)
 * worker -> supervisor
 *   { type: 'ready' }                        initialized; the supervisor counts it as running from here
 *
 * A worker that exits without having been sent 'stop' has died, whatever its exit code, and is restarted.
 */
export type SupervisorToWorker = { type: 'stop' } | { type: 'crash'; how: 'throw' | 'exit' };
export type WorkerToSupervisor = { type: 'ready' };

/** workerData every supervised worker receives (plus its kind's own fields under `data`). */
export interface SupervisedWorkerData {
  kind: string;
  slot: number;
  /** 0 for the first start of the slot, +1 for each restart. */
  generation: number;
  data?: unknown;
}

export function isSupervisorMessage(m: unknown): m is SupervisorToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
