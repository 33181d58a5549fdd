export * from './layout.js';
export * from './doorbell.js';
export * from './spsc-ring.js';
export * from './packet-pool.js';
export * from './counters.js';
export * from './mutex.js';
export * from './thread-registry.js';
