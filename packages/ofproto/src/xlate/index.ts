/** Translation of flows through the OpenFlow tables into datapath actions and megaflows (see xlate.ts). */
export * from './xlate.js';
export * from './odp-actions.js';
export * from './cookie.js';
export * from './trace-node.js';
export * from './datapath-mask.js';
export { ethAddrIsReserved, replayNormalLearning } from './normal.js';
export { commitOdpActions, type CommitState } from './commit.js';
