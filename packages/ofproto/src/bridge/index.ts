/** The bridge's port model: OpenFlow <-> odp port numbers, names, VLAN modes (see bridge.ts). */
export * from './bridge-port.js';
export * from './bridge.js';
