/** `ofproto/trace` output for flows and packets (see trace.ts). */
export * from './trace.js';
export * from './flow-parse.js';
