export * from './flow-layout.js';
