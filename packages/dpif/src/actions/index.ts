/** Datapath actions: encoding, ODP text syntax, executor. See encoding.ts and execute.ts for the contracts. */
export * from './encoding.js';
export * from './format.js';
export * from './parse.js';
export * from './execute.js';
