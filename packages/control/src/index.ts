export * from './paths.js';
export * from './errors.js';
export * from './tunables.js';
export * from './threads.js';
export * from './methods.js';
export * from './framing.js';
export * from './server.js';
export * from './client.js';
