export {};
export * from './actions/index.js';
export * from './flow-table/index.js';
export * from './dpif.js';
export * from './upcall/index.js';
export * from './pmd/index.js';
export * from './datapath/index.js';
