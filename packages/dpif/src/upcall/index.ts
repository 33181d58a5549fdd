/** Upcall queues: per-port SPSC rings of buffer ids plus a per-buffer record area. */
export * from './upcall-area.js';
export * from './upcall-queue.js';
