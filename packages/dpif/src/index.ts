export {};
export * from './actions/index.js';
export * from './flow-table/index.js';
