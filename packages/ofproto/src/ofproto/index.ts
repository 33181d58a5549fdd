/** The bridge-level object (Ofproto), its replicas in translating threads, and the revalidators' translator. */
export * from './ofproto.js';
export * from './replica.js';
export * from './bridge-translator.js';
