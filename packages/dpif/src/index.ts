export {};
export * from './flow-table/index.js';
