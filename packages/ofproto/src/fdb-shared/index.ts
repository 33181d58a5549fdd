/** The MAC learning table in shared memory (OVS lib/mac-learning.c semantics, readable and writable by every thread). */
export * from './shared-mac-table.js';
export * from './fdb-show.js';
export { computeFdbLayout, type FdbLayout } from './layout.js';
