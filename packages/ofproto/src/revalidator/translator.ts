/**
 * What the revalidators need from translation (OVS xlate_key / xlate_actions as revalidate_ukey__
 * calls them), as a narrow interface so that any translator can be plugged in: the full xlate of
 * `src/xlate`, or the table-0 translator of simple-translator.ts.
 *
 * A translator lives in each revalidator thread (translation reads the OpenFlow tables, MAC
 * learning and ports, which are per-thread replicas kept in step by updates the control plane
 * broadcasts). It is made by a module that the revalidator worker imports:
 *
 *   export function createTranslator(init: unknown): Translator | Promise<Translator>
 *
 * named by `TranslatorSpec` (module URL, export name, init data: structured-clonable).
 */

/** The result of translating one datapath flow key. */
export interface Translation {
  /** 0 = ok; anything else is an xlate error (the flow is deleted, OVS FDR_XLATION_ERROR). */
  error: number;
  /** Datapath actions in @tsvs/dpif's encoding, as they would be installed. */
  actions: Uint8Array;
  /**
   * The datapath megaflow mask the translation needs (FLOW_WORDS words; in_port exact). The
   * installed flow is kept only if its mask has every bit of this one.
   */
  mask: Uint32Array;
  /** Ids (OfRule.id) of the rules whose actions ran, credited with the flow's stats. */
  rules: ArrayLike<number>;
}

export interface Translator {
  /** The OpenFlow tables version translations are made at now (recorded in ukeys). */
  readonly version: number;
  /**
   * Translates the datapath flow key at `key[keyBase..]` (FLOW_WORDS words, in_port an odp port)
   * without side effects (no MAC learning). Must not throw; errors go in `error`.
   */
  translate(key: Uint32Array, keyBase: number): Translation;
  /** Applies an update broadcast by the control plane (a table change, MAC move, port change). */
  update?(msg: unknown): void;
}

/** How a revalidator thread makes its translator. */
export interface TranslatorSpec {
  /** URL (file: URL string) of an ES module exporting the factory. */
  module: string;
  /** Export name of the factory. Default "createTranslator". */
  export?: string;
  /**
   * Init data for the factory (structured-clonable). A function is called each time a thread
   * starts, so threads started later (setThreads) get the state as of then.
   */
  init?: unknown | (() => unknown);
}

export type TranslatorFactory = (init: unknown) => Translator | Promise<Translator>;

/** Loads a translator as a revalidator thread does. Throws if the module or export is missing. */
export async function loadTranslator(module: string, exportName: string | undefined, init: unknown): Promise<Translator> {
  const mod = (await import(module)) as Record<string, unknown>;
  const f = mod[exportName ?? 'createTranslator'];
  if (typeof f !== 'function') throw new TypeError(`translator module ${module} has no function export "${exportName ?? 'createTranslator'}"`);
  return await (f as TranslatorFactory)(init);
}
