/**
 * Placeholder worker for the PMD, handler and revalidator kinds until their real loops are wired in:
 * it only speaks the supervision protocol and wakes once a second (so it is a live thread with a
 * running event loop, like the real ones).
 */
import { superviseWorker } from './runtime.js';

const timer = setInterval(() => undefined, 1000);
const ctl = superviseWorker({ onStop: () => clearInterval(timer) });
ctl.ready();
