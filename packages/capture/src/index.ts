export * from './linktype.js';
export * from './error.js';
export * from './types.js';
export * from './record-index.js';
export * from './read.js';
export * from './pcap-writer.js';
export { isPcapMagic, MAX_CAPLEN, PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';
export { isPcapngMagic } from './pcapng.js';
