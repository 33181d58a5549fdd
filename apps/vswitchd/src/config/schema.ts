/**
 * The daemon's config file: JSON, UTF-8, written by the daemon (pretty-printed, 2-space indent).
 *
 *   {
 *     "version": 1,                                   required; the only format so far
 *     "bridge": { "name": "br0" },
 *     "ports": [ { "name": "p1", "type": "memory", "ofport": 1, "options": { "n_rxq": "2" }, "tag": 10 } ],
 *     "threads": { "pmd": null, "handler": 2, "revalidator": null },   null = automatic (CPU count)
 *     "tunables": { "max-idle": 10000, ... },        missing keys take their defaults
 *     "openflow": { "rules": [ "priority=10,in_port=1,actions=output:2" ] },
 *     "<section>": { ... }                            sections registered by subsystems
 *   }
 * Every field but `version` may be omitted and takes its default. Unknown fields are refused.
 * Names follow OVS's interface-name rules (Linux IFNAMSIZ: at most 15 bytes).
 */
import { z } from 'zod';
import { MAX_THREADS_PER_KIND, PORT_TYPE_NAMES, VLAN_MODES, TUNABLE_NAMES, TUNABLES, tunableNumber, type Tunables } from '@tsvs/control';

export const CONFIG_VERSION = 1;

/** The rules of a new bridge: OVS's default flow. */
export const DEFAULT_OPENFLOW_RULES: readonly string[] = ['priority=0 actions=NORMAL'];

/** A bridge or port name: 1..15 characters of [A-Za-z0-9_.-], not starting with '-' or '.'. */
export const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/, 'must be 1 to 15 characters of A-Z a-z 0-9 _ . - (not starting with . or -)');

/** Port providers of packages/netdev. */
export const PORT_TYPES = PORT_TYPE_NAMES;

/** OpenFlow 1.0+ physical port numbers run 1..0xfeff (OFPP_MAX). */
export const OFPP_MAX = 0xfeff;

export const portSchema = z.strictObject({
  name: nameSchema,
  type: z.enum(PORT_TYPES),
  ofport: z.number().int().min(1).max(OFPP_MAX).nullable().default(null),
  options: z.record(z.string().min(1).max(64), z.string().max(4096)).default({}),
  /** OVS Port `tag`: the access VLAN, or the native VLAN of the native-* modes. */
  tag: z.number().int().min(0).max(4095).optional(),
  /** OVS Port `trunks`: VLANs a trunk carries (empty or absent: all). */
  trunks: z.array(z.number().int().min(0).max(4095)).max(4096).optional(),
  /** OVS Port `vlan_mode`; default access when `tag` is set, else trunk. */
  vlan_mode: z.enum(VLAN_MODES).optional(),
});
export type PortConfig = z.output<typeof portSchema>;

const threadCount = z.number().int().min(1).max(MAX_THREADS_PER_KIND).nullable().default(null);

const tunablesFileSchema = z
  .strictObject(
    Object.fromEntries(TUNABLE_NAMES.map((n) => [n, tunableNumber(n).default(TUNABLES[n].default)])) as {
      [K in keyof Tunables]: z.ZodDefault<z.ZodNumber>;
    },
  )
  .default(() => Object.fromEntries(TUNABLE_NAMES.map((n) => [n, TUNABLES[n].default])) as Tunables);

/** Core fields. Subsystems add top-level sections through ConfigStore.registerSection(). */
export const coreConfigShape = {
  version: z.literal(CONFIG_VERSION),
  bridge: z.strictObject({ name: nameSchema }).default({ name: 'br0' }),
  ports: z
    .array(portSchema)
    .max(4096)
    .default([])
    .superRefine((ports, ctx) => {
      const names = new Map<string, number>();
      const ofports = new Map<number, number>();
      ports.forEach((p, i) => {
        const seenName = names.get(p.name);
        if (seenName !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate port name ${p.name} (also ports[${seenName}])` });
        names.set(p.name, i);
        if (p.ofport !== null) {
          const seenOf = ofports.get(p.ofport);
          if (seenOf !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'ofport'], message: `duplicate ofport ${p.ofport} (also ports[${seenOf}])` });
          ofports.set(p.ofport, i);
        }
      });
    }),
  threads: z
    .strictObject({ pmd: threadCount, handler: threadCount, revalidator: threadCount })
    .default({ pmd: null, handler: null, revalidator: null }),
  tunables: tunablesFileSchema,
  // A new bridge has OVS's default rule (ovs-vswitchd adds `priority=0 actions=NORMAL` to every
  // bridge it creates); an explicit empty list stays empty.
  openflow: z
    .strictObject({ rules: z.array(z.string().min(1).max(65536)).max(1_000_000).default(() => [...DEFAULT_OPENFLOW_RULES]) })
    .default(() => ({ rules: [...DEFAULT_OPENFLOW_RULES] })),
};

export const coreConfigSchema = z.strictObject(coreConfigShape);

export type CoreConfig = z.output<typeof coreConfigSchema>;

/** The whole config: core fields plus registered sections (typed by their owners via `section()`). */
export type DaemonConfig = CoreConfig & { [section: string]: unknown };

export function defaultCoreConfig(): CoreConfig {
  return coreConfigSchema.parse({ version: CONFIG_VERSION });
}
