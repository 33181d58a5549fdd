/**
 * The config store: the daemon's persistent configuration, one JSON file (format in schema.ts).
 *
 * - load(): reads and validates the file; a missing file starts from defaults (and is written); a corrupt
 *   or invalid one throws ConfigError and is not touched.
 * - update(): applies a change to a copy, validates the whole config, writes it atomically
 *   (writeFileAtomic: temp + fsync + rename + dir fsync) and only then makes it current. A change that
 *   fails validation or cannot be written leaves both memory and disk as they were. Updates are serialized.
 * - registerSection(): lets a subsystem keep its own top-level section with its own schema and defaults.
 *   Sections must be registered before load().
 * Listeners of 'change' get (config, reason) after each successful update.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { ConfigError, parseConfigText, validateConfig } from './parse.js';
import { CONFIG_VERSION, coreConfigShape, type DaemonConfig } from './schema.js';

const CORE_KEYS = new Set(Object.keys(coreConfigShape));

export interface ConfigStoreEvents {
  change: [config: Readonly<DaemonConfig>, reason: string];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class ConfigStore extends EventEmitter<ConfigStoreEvents> {
  private readonly sections = new Map<string, z.ZodType>();
  private current: Readonly<DaemonConfig> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {
    super();
  }

  /**
   * Adds a top-level section `name` validated by `schema`; `schema` must accept `undefined` (use
   * `.default(...)`) so configs written before the section existed still load. Throws if the name is
   * taken or the config is already loaded.
   */
  registerSection<S>(name: string, schema: z.ZodType<S>): void {
    if (this.current) throw new Error(`config section ${name} registered after the config was loaded`);
    if (CORE_KEYS.has(name) || this.sections.has(name)) throw new Error(`config section ${name} already exists`);
    this.sections.set(name, schema);
  }

  private schema(): z.ZodType<DaemonConfig> {
    const extra = Object.fromEntries(this.sections);
    return z.strictObject({ ...coreConfigShape, ...extra }) as unknown as z.ZodType<DaemonConfig>;
  }

  /**
   * Loads the file. Returns `created: true` when there was none and defaults were written.
   * Throws ConfigError (bad syntax or content; file untouched) or the fs error for unreadable files.
   */
  async load(): Promise<{ created: boolean }> {
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ConfigError(this.path, `cannot read: ${(err as Error).message}`);
      }
    }
    if (text === undefined) {
      const config = validateConfig(this.schema(), { version: CONFIG_VERSION }, undefined, this.path);
      await this.write(config);
      this.current = deepFreeze(config);
      return { created: true };
    }
    const value = parseConfigText(text, this.path);
    this.current = deepFreeze(validateConfig(this.schema(), value, text, this.path));
    return { created: false };
  }

  /** The current config (deep-frozen). Throws before load(). */
  get(): Readonly<DaemonConfig> {
    if (!this.current) throw new Error('config not loaded');
    return this.current;
  }

  /** A registered section's current value. */
  section<S>(name: string): Readonly<S> {
    return this.get()[name] as S;
  }

  /**
   * Applies `mutate` to a mutable deep copy, validates, saves and makes it current. Rejects with
   * ConfigError (invalid result: nothing changed) or the fs error (not written: nothing changed).
   * `mutate` may throw to abort (nothing changed). Resolves with the new config.
   */
  update(reason: string, mutate: (draft: DaemonConfig) => void): Promise<Readonly<DaemonConfig>> {
    const run = async (): Promise<Readonly<DaemonConfig>> => {
      const draft = structuredClone(this.get()) as DaemonConfig;
      mutate(draft);
      const next = validateConfig(this.schema(), draft, undefined, this.path);
      await this.write(next);
      this.current = deepFreeze(next);
      this.emit('change', this.current, reason);
      return this.current;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Checks that `mutate` applied to the current config gives a valid config, without saving or
   * changing anything. Rejects with ConfigError naming the field, or what `mutate` throws.
   */
  async validate(mutate: (draft: DaemonConfig) => void): Promise<void> {
    const draft = structuredClone(this.get()) as DaemonConfig;
    mutate(draft);
    validateConfig(this.schema(), draft, undefined, this.path);
  }

  /** Writes the current config again (at stop, so the file matches memory even if it was removed). */
  save(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.current) await this.write(this.current);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(config: Readonly<DaemonConfig>): Promise<void> {
    // Core keys first in a fixed order, then sections, so the file diffs cleanly between saves.
    const ordered: Record<string, unknown> = {};
    for (const key of CORE_KEYS) ordered[key] = config[key];
    for (const key of this.sections.keys()) ordered[key] = config[key];
    await writeFileAtomic(this.path, JSON.stringify(ordered, null, 2) + '\n');
  }
}
