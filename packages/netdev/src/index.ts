export * from './netdev.js';
export * from './options.js';
export * from './frame-store.js';
export * from './tx-capture.js';
export * from './memory.js';
export * from './pcap-file.js';
export * from './system/index.js';
