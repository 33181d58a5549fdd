/**
 * Handler thread entry (compiled to dist/handler/handler-worker.js; `Handlers` starts it with a
 * `HandlerInit` as workerData). The thread never returns to its event loop while it runs: it
 * loops over rounds (./handler-core.ts), drains control requests synchronously when the ctl word
 * moves, and sleeps on its doorbell (rung by the PMDs that queue upcalls on its ports, and by the
 * control thread after posting a request) when a short spin finds nothing to do.
 *
 * Events to the control thread: packet-ins (at most one message per round), rule credits
 * (accumulated, posted every CREDIT_PERIOD_MS and before sleeping: a message per round cost a
 * tenth of a busy handler's time), and a kick request when translation changed the shared MAC
 * table (claimed through the table's kick flag, so that several handlers do not post one each).
 */
import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { DoorbellBank } from '@tsvs/shm';
import { nameThread } from '@tsvs/netdev';
import { HandlerCore } from './handler-core.js';
import type { HandlerEvent, HandlerInit, HandlerReply, HandlerRequest } from './handler-messages.js';
import { S_SLEEPS } from './handler-stats.js';

const init = workerData as HandlerInit;
nameThread(`handler${threadId}`); // as OVS names its handlers (lib/ovs-thread.c)
const parent = parentPort!;
const post = (m: HandlerEvent | HandlerReply): void => parent.postMessage(m);

let core: HandlerCore;
try {
  core = new HandlerCore({ ...init });
} catch (e) {
  post({ event: 'fatal', handlerId: init.handlerId, message: e instanceof Error ? e.stack ?? e.message : String(e) });
  throw e;
}
const bank = DoorbellBank.attach(init.bank);
const ctl = new Int32Array(init.ctl);
const slot = init.bellSlot;
// Requests may have been posted (and the ctl word moved) while the thread started: the first
// turn of the loop drains them.
let ctlSeen = -1;
core.controlPending = () => Atomics.load(ctl, 0) !== ctlSeen;
post({ event: 'ready', handlerId: init.handlerId, threadId });

/** Applies pending requests; returns false on quit. */
function control(): boolean {
  ctlSeen = Atomics.load(ctl, 0);
  for (;;) {
    const m = receiveMessageOnPort(init.ctlPort);
    if (!m) return true;
    const req = m.message as HandlerRequest;
    if (req.op === 'crash') throw new Error(`handler ${init.handlerId}: crashed on request (fault injection)`);
    let error: string | undefined;
    try {
      switch (req.op) {
        case 'attach': core.attach(req.upcall); break;
        case 'detach': core.detach(req.portNo); break;
        case 'netdevAdd': core.addNetdev(req.portNo, req.netdev); break;
        case 'netdevDel': core.delNetdev(req.portNo); break;
        case 'update': core.update(req.u); break;
        case 'config': core.cfg = { ...req.cfg }; break;
        case 'sync': break;
        case 'quit':
          core.close();
          post({ seq: req.seq });
          return false;
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    post(error === undefined ? { seq: req.seq } : { seq: req.seq, error });
  }
}

/** Credits wait at most this long in the handler (ms). */
const CREDIT_PERIOD_MS = 20;
let lastCredits = 0;

function flushEvents(now: number, force: boolean): void {
  if (core.packetIns.length > 0) {
    post({ event: 'packet-in', handlerId: core.id, items: core.packetIns });
    core.packetIns = [];
  }
  if (force || now - lastCredits >= CREDIT_PERIOD_MS) {
    lastCredits = now;
    const c = core.takeCredits();
    if (c) post({ event: 'credits', handlerId: core.id, credits: c });
  }
  if (core.takeKick() && core.replica.fdb.requestKick()) post({ event: 'kick', handlerId: core.id });
}

function loop(): void {
  const f = core.stats.f, hLine = core.stats.handlerLine(core.id);
  let idleSince = -1;
  for (;;) {
    if (Atomics.load(ctl, 0) !== ctlSeen && !control()) break;
    const n = core.round();
    const now = performance.now();
    if (n > 0) {
      flushEvents(now, false);
      idleSince = -1;
      continue;
    }
    if (idleSince < 0) {
      flushEvents(now, true);
      idleSince = now;
      continue;
    }
    if ((now - idleSince) * 1000 < core.cfg.idleSpinUs) continue;
    // Sleep: announce, re-check the queues and the ctl word, then wait for a ring.
    const seq = bank.prepareSleep(slot);
    if (core.hasWork() || Atomics.load(ctl, 0) !== ctlSeen) {
      bank.endSleep(slot);
      continue;
    }
    f[hLine + S_SLEEPS]! += 1;
    bank.sleep(slot, seq, core.cfg.maxSleepMs);
    idleSince = -1;
  }
  init.ctlPort.close();
}

try {
  loop();
} catch (e) {
  post({ event: 'fatal', handlerId: init.handlerId, message: e instanceof Error ? e.stack ?? e.message : String(e) });
  throw e;
}
