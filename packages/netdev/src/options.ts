import { NetdevError } from './netdev.js';

/**
 * Reads a port's options (OVS `options:key=value`, all strings) against the keys its type knows.
 * Every error is one line naming the port and the bad key or value.
 */
export class PortOptions {
  constructor(
    private readonly port: string,
    type: string,
    private readonly opts: Readonly<Record<string, string>>,
    known: readonly string[],
  ) {
    for (const k of Object.keys(opts)) {
      if (!known.includes(k)) throw new NetdevError(`${port}: unknown option '${k}' for a ${type} port (known: ${known.join(', ')})`);
    }
  }

  /** An integer option in [min, max]; `dflt` when absent. */
  int(key: string, dflt: number, min: number, max: number): number {
    const v = this.opts[key];
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new NetdevError(`${this.port}: bad value '${v}' for option ${key} (want an integer in [${min}, ${max}])`);
    }
    return Number(v);
  }

  /** A power-of-two integer option in [min, max]. */
  pow2(key: string, dflt: number, min: number, max: number): number {
    const n = this.int(key, dflt, min, max);
    if ((n & (n - 1)) !== 0) throw new NetdevError(`${this.port}: bad value '${n}' for option ${key} (want a power of two)`);
    return n;
  }

  /** One of `choices`; `dflt` when absent. */
  choice<T extends string>(key: string, dflt: T, choices: readonly T[]): T {
    const v = this.opts[key];
    if (v === undefined) return dflt;
    if (!(choices as readonly string[]).includes(v)) {
      throw new NetdevError(`${this.port}: bad value '${v}' for option ${key} (want one of ${choices.join(', ')})`);
    }
    return v as T;
  }

  /** true/false option. */
  bool(key: string, dflt: boolean): boolean {
    const v = this.opts[key];
    if (v === undefined) return dflt;
    if (v !== 'true' && v !== 'false') throw new NetdevError(`${this.port}: bad value '${v}' for option ${key} (want true or false)`);
    return v === 'true';
  }

  /** A non-empty string option, or undefined. */
  str(key: string): string | undefined {
    const v = this.opts[key];
    if (v === '') throw new NetdevError(`${this.port}: empty value for option ${key}`);
    return v;
  }
}
