/** Revalidators: ukeys, revalidation rounds, flow limit, threads (see revalidators.ts, revalidate.ts, ukey-table.ts). */
export * from './ukey-state.js';
export { N_UMAPS, MAX_UKEY_RULES, UKEY_F_ADOPTED, computeUkeyLayout, type UkeyLayout } from './ukey-layout.js';
export * from './ukey-table.js';
export * from './flow-limit.js';
export * from './reval-stats.js';
export * from './translator.js';
export * from './revalidate.js';
export * from './revalidators.js';
export { SimpleTranslator, SIMPLE_TRANSLATOR_MODULE, SIMPLE_XLATE_UNSUPPORTED, type SimpleTranslatorInit, type FlowModsUpdate } from './simple-translator.js';
export { XlateTranslator, XLATE_TRANSLATOR_MODULE, XLATE_TRANSLATOR_NO_PORT, type XlateTranslatorInit, type XlateTranslatorUpdate, type MacReplicaEntry } from './xlate-translator.js';
