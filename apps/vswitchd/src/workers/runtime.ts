/**
 * The worker side of the supervision protocol (workers/protocol.ts), for worker entry modules:
 *
 *   const ctl = superviseWorker({ onStop: () => clearInterval(timer) });
 *   ... initialize ...
 *   ctl.ready();
 *
 * `onStop` must release whatever keeps the thread alive (timers, ports) so it exits by itself; the
 * supervisor terminates it after its grace period otherwise.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { nameThread } from '@tsvs/netdev';
import { isSupervisorMessage, type SupervisedWorkerData, type WorkerToSupervisor } from './protocol.js';

export interface WorkerControl {
  readonly info: SupervisedWorkerData;
  ready(): void;
}

export function superviseWorker(hooks: { onStop: () => void }): WorkerControl {
  const port = parentPort;
  if (!port) throw new Error('superviseWorker() must run in a worker thread');
  const info = workerData as SupervisedWorkerData;
  nameThread(`${info.kind}${threadId}`);
  port.on('message', (m: unknown) => {
    if (!isSupervisorMessage(m)) return;
    switch (m.type) {
      case 'stop':
        hooks.onStop();
        port.close();
        break;
      case 'crash':
        if (m.how === 'exit') process.exit(0);
        setImmediate(() => {
          throw new Error(`injected crash in ${info.kind} thread ${info.slot}`);
        });
        break;
    }
  });
  return {
    info,
    ready: () => port.postMessage({ type: 'ready' } satisfies WorkerToSupervisor),
  };
}
