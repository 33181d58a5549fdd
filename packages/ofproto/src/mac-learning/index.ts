/** MAC learning for NORMAL (OVS lib/mac-learning.c) and its `fdb/show` text. */
export * from './mac-learning.js';
export * from './fdb-format.js';
