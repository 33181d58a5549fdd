/** The userspace datapath (control thread). */
export * from './datapath.js';
export * from './exec-context.js';
