/**
 * Tunables of the switch, named and bounded as in OVS 3.1 (ovs-vswitchd.conf.db(5): Open_vSwitch
 * other_config for the first five, Bridge other_config for the MAC table). All are integers.
 *
 *   name                 unit     default  range (OVS schema)
 *   max-idle             ms       10000    >= 500
 *   flow-limit           flows    200000   >= 0
 *   max-revalidator      ms       500      >= 100
 *   min-revalidate-pps   pkt/s    5        >= 1
 *   emc-insert-inv-prob  1/N      100      0..4294967295 (0 disables EMC insertion)
 *   mac-aging-time       s        300      >= 1 (MAC learning clamps to 15..3600 as OVS does)
 *   mac-table-size       entries  2048     >= 1 (clamped to 10..1000000 as OVS does; OVS 3.1 documents 8192, tsvs keeps 2048 as its spec asks)
 *   pmd-rx-usecs         µs       80       0..1000 (tsvs's own, named after ethtool's rx-usecs
 *                                          interrupt coalescing: a PMD's nap between partial rx
 *                                          bursts of a running stream; 0 turns it off. See
 *                                          packages/dpif src/pmd/pmd-loop.ts. 80, not 30:
 *                                          vs-ovs topology, 4 rounds each, new TCP
 *                                          connections 12.0-13.2k/s against 10.1-12.1k/s,
 *                                          UDP 64 B delivered 124-144 kpps against 117-130,
 *                                          TCP equal)
 * Every upper bound not given by OVS is 4294967295 (OVS keeps these in unsigned ints).
 */
import { z } from 'zod';

const U32_MAX = 4294967295;

export interface TunableSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly description: string;
}

export const TUNABLES = {
  'max-idle': { default: 10000, min: 500, max: U32_MAX, unit: 'ms', description: 'idle time after which a datapath flow is deleted' },
  'flow-limit': { default: 200000, min: 0, max: U32_MAX, unit: 'flows', description: 'upper bound of the dynamic datapath flow limit' },
  'max-revalidator': { default: 500, min: 100, max: U32_MAX, unit: 'ms', description: 'longest wait between revalidation rounds' },
  'min-revalidate-pps': { default: 5, min: 1, max: U32_MAX, unit: 'packets/s', description: 'flows slower than this are not revalidated when a round runs long' },
  'emc-insert-inv-prob': { default: 100, min: 0, max: U32_MAX, unit: '1/N', description: 'insert into the EMC with probability 1/N (0: never)' },
  'mac-aging-time': { default: 300, min: 1, max: U32_MAX, unit: 's', description: 'idle time after which a learned MAC is forgotten' },
  'mac-table-size': { default: 2048, min: 1, max: U32_MAX, unit: 'entries', description: 'most MAC addresses learned per bridge' },
  'pmd-rx-usecs': { default: 80, min: 0, max: 1000, unit: 'µs', description: 'PMD nap between partial rx bursts of a running stream (rx coalescing; 0: never)' },
  'pmd-idle-nap-usecs': { default: 20, min: 0, max: 1000, unit: 'µs', description: 'PMD nap when idle just after traffic, before it blocks on its socket rxqs (0: block at once)' },
} as const satisfies Record<string, TunableSpec>;

export type TunableName = keyof typeof TUNABLES;
export type Tunables = { [K in TunableName]: number };
export const TUNABLE_NAMES = Object.keys(TUNABLES) as TunableName[];

export function defaultTunables(): Tunables {
  const t = {} as Tunables;
  for (const name of TUNABLE_NAMES) t[name] = TUNABLES[name].default;
  return t;
}

/** Schema of one tunable's value: an integer within the OVS range; the message names the tunable. */
export function tunableNumber(name: TunableName) {
  const spec: TunableSpec = TUNABLES[name];
  return z
    .number()
    .int()
    .min(spec.min, `${name} must be at least ${spec.min}${spec.unit.startsWith('1/') ? '' : ' ' + spec.unit}`)
    .max(spec.max, `${name} must be at most ${spec.max}`);
}

/** A complete tunables object (the config file fills missing keys with defaults before this). */
export const tunablesSchema = z.strictObject(
  Object.fromEntries(TUNABLE_NAMES.map((n) => [n, tunableNumber(n)])) as { [K in TunableName]: z.ZodNumber },
);

/** A partial tunables object: what `config/set` takes. Unknown keys are refused. */
export const tunablesPatchSchema = tunablesSchema.partial();
export type TunablesPatch = Partial<Tunables>;

export type AssignmentResult = { ok: true; patch: TunablesPatch } | { ok: false; error: string };

/**
 * Parses `KEY=VALUE` tokens (the `tsvs set config` arguments) into a patch.
 * Fails on the first bad token with a one-line message naming it; nothing is partially applied.
 */
export function parseTunableAssignments(tokens: readonly string[]): AssignmentResult {
  if (tokens.length === 0) return { ok: false, error: 'no KEY=VALUE given' };
  const patch: TunablesPatch = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${token}": expected KEY=VALUE` };
    const key = token.slice(0, eq);
    const raw = token.slice(eq + 1);
    if (!Object.hasOwn(TUNABLES, key)) {
      return { ok: false, error: `"${token}": unknown key "${key}" (known: ${TUNABLE_NAMES.join(', ')})` };
    }
    const name = key as TunableName;
    if (!/^\d+$/.test(raw)) return { ok: false, error: `"${token}": ${name} takes a non-negative integer` };
    const checked = tunableNumber(name).safeParse(Number(raw));
    if (!checked.success) return { ok: false, error: `"${token}": ${checked.error.issues[0]?.message ?? 'bad value'}` };
    patch[name] = checked.data;
  }
  return { ok: true, patch };
}
