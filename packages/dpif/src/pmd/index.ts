/** PMD threads: the loop, the worker entry, the control-side handle, statistics and rxq scheduling. */
export * from './pmd-messages.js';
export * from './pmd-stats.js';
export * from './sched-stats.js';
export * from './pmd-loop.js';
export * from './pmd-thread.js';
export * from './rxq-sched.js';
export * from './dp-clock.js';
