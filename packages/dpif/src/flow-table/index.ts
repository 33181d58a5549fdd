export * from './types.js';
export * from './layout.js';
export * from './ufid.js';
export * from './sync.js';
export * from './flow-table.js';
export * from './pmd.js';
