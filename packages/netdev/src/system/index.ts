export * from './addon.js';
export * from './fd-netdev.js';
export * from './system.js';
export * from './internal.js';
export { watchRxqFd, unwatchRxqFd, armRxqFd } from './watcher.js';
export * from './open-error.js';
export * from './thread-name.js';
