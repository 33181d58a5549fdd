export * from './flow-layout.js';
export * from './extract.js';
export * from './wildcards.js';
export * from './addr-format.js';
export * from './ofctl-format.js';
export * from './checksum.js';
export * from './hash.js';
export * from './mask.js';
