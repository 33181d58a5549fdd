/** Handler threads: per-port upcall queues read round-robin, translation, flow installation, execution, packet-ins. */
export * from './handler-messages.js';
export * from './handler-stats.js';
export * from './handler-exec.js';
export * from './handler-core.js';
export * from './handlers.js';
export * from './packet-in.js';
