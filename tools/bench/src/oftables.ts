/**
 * `pnpm bench oftables [--json] [--sizes 1000,10000] [--budget-ms N] [--baseline PATH]`: changes to
 * the versioned OpenFlow tables (packages/ofproto OfTables over the classifier), one core.
 *
 * Rule set of N rules (table 0): 8 shapes in turn (tcp nw_src/24 + tp_dst; tcp nw_dst/32 + tp_dst;
 * udp nw_src/16 + nw_dst/24; ip nw_src/32; tcp 5-tuple; in_port + dl_src; arp arp_tpa; ip nw_dst/24),
 * so 8 subtables, addresses unique per rule, 97 priorities. FlowMods are parsed once, untimed.
 * Modify and delete FlowMods name no table (all tables, as `ovs-ofctl mod-flows` / `del-flows`
 * without `table=`); loose ones give the rule's own match (each selects its rule), `*_loose_all`
 * an empty match (selects all N rules). Every case starts from fresh tables holding the N rules
 * (untimed), except the add cases, which start empty.
 *
 * Figures, per N (best of --reps rounds, default 3, 2 for N >= 10000, each after a full GC; a
 * one-by-one round stops after --budget-ms, default 4000, and is then figured from the changes it
 * made, key `*_partial` = changes made):
 * - `<case>_<N>_us_per_rule`: microseconds per affected rule; cases add, modify_strict,
 *   modify_loose, delete_strict, delete_loose, each `_1by1` (one `apply` per FlowMod: one version
 *   each) and `_batch` (one `apply` of all N: one version); modify_loose_all, delete_loose_all
 *   (one FlowMod, N rules).
 * - `version_bump_<N>_us`: one `apply([])` (an empty change: a new version and a gc) with N rules
 *   installed; `version_bump_pinned_<N>_us`: the same while a reader pins an old version and N
 *   replaced rules wait for gc; `gc_release_<N>_ms`: `releaseVersion` of that pin, which collects
 *   the N rules.
 * - `scaling_<case>`: us_per_rule at the largest N over the smallest (1 when the cost per rule does
 *   not grow with the table, about N_large/N_small when it is O(total rules) per rule).
 * - With `--baseline PATH` (a module exporting `OfTables`, e.g. a build of an older
 *   @tsvs/ofproto copied out of the tree): every figure again as `*_base` for it, in the same run,
 *   and `*_speedup` = base / current. To make one: check out the older commit's
 *   packages/ofproto, build it, copy its dist/ to DIR/dist and its package.json to DIR, link
 *   DIR/node_modules/@tsvs/packet (and shm, dpif, netdev) to this tree's packages, then pass
 *   `--baseline DIR/dist/index.js`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OfTables, parseFlowMod, type FlowMod } from '@tsvs/ofproto';

setFlagsFromString('--expose-gc');
/** A full GC before each timed round, so one round's garbage is not collected in the next. */
const fullGc = runInNewContext('gc') as () => void;

interface TablesLike {
  apply(m: FlowMod | readonly FlowMod[]): { added: unknown[]; replaced: unknown[]; deleted: unknown[] };
  acquireVersion(): number;
  releaseVersion(v: number): void;
  nRules(table?: number): number;
}
type TablesCtor = new (opts?: { now?: () => number }) => TablesLike;

const hex = (x: number): string => x.toString(16).padStart(2, '0');

/** The match of rule i (unique per i < 65536) and its priority. */
function ruleMatch(i: number): string {
  const a = (i >> 8) & 255;
  const b = i & 255;
  switch (i % 8) {
    case 0: return `tcp,nw_src=10.${a}.${b}.0/24,tp_dst=${80 + (i % 40)}`;
    case 1: return `tcp,nw_dst=172.16.${a}.${b},tp_dst=443`;
    case 2: return `udp,nw_src=10.${a}.0.0/16,nw_dst=192.168.${b}.0/24`;
    case 3: return `ip,nw_src=11.${a}.${b}.7`;
    case 4: return `tcp,nw_src=12.${a}.${b}.1,nw_dst=13.${a}.${b}.2,tp_src=${1024 + (i % 1000)},tp_dst=22`;
    case 5: return `in_port=${1 + (i % 16)},dl_src=02:00:00:00:${hex(a)}:${hex(b)}`;
    case 6: return `arp,arp_tpa=14.${a}.${b}.1`;
    default: return `ip,nw_dst=15.${a}.${b}.0/24`;
  }
}
const prio = (i: number): number => 1000 + (i % 97);

interface Mods {
  add: FlowMod[];
  modStrict: FlowMod[];
  modLoose: FlowMod[];
  delStrict: FlowMod[];
  delLoose: FlowMod[];
  modAll: FlowMod;
  delAll: FlowMod;
}

function makeMods(n: number): Mods {
  const m: Mods = {
    add: [], modStrict: [], modLoose: [], delStrict: [], delLoose: [],
    modAll: parseFlowMod('actions=output:4', 'modify'),
    delAll: parseFlowMod('', 'delete'),
  };
  for (let i = 0; i < n; i++) {
    const match = ruleMatch(i);
    const p = prio(i);
    m.add.push(parseFlowMod(`priority=${p},${match},actions=output:1`, 'add'));
    m.modStrict.push(parseFlowMod(`priority=${p},${match},actions=output:2`, 'modify_strict'));
    m.modLoose.push(parseFlowMod(`${match},actions=output:3`, 'modify'));
    m.delStrict.push(parseFlowMod(`priority=${p},${match}`, 'delete_strict'));
    m.delLoose.push(parseFlowMod(match, 'delete'));
  }
  return m;
}

interface Ctx { Impl: TablesCtor; mods: Mods; n: number; reps: number; budgetMs: number }

function fresh(c: Ctx, withRules: boolean): TablesLike {
  let t = 1_000_000;
  const tables = new c.Impl({ now: () => t++ });
  if (withRules) tables.apply(c.mods.add);
  if (withRules && tables.nRules() !== c.n) throw new Error(`setup: ${tables.nRules()} rules, expected ${c.n}`);
  fullGc();
  return tables;
}

interface Fig { usPerRule: number; affected: number; partial?: number }

/** One change per FlowMod (stops after the budget), best of reps. */
function oneByOne(c: Ctx, list: FlowMod[], withRules: boolean, count: (r: ReturnType<TablesLike['apply']>) => number): Fig {
  let best: Fig | null = null;
  for (let rep = 0; rep < c.reps; rep++) {
    const tables = fresh(c, withRules);
    let affected = 0;
    let done = 0;
    const t0 = performance.now();
    let t = t0;
    for (; done < list.length; done++) {
      affected += count(tables.apply(list[done]!));
      if ((done & 15) === 15) {
        t = performance.now();
        if (t - t0 > c.budgetMs) {
          done++;
          break;
        }
      }
    }
    t = performance.now();
    const fig: Fig = { usPerRule: ((t - t0) * 1000) / Math.max(1, affected), affected };
    if (done < list.length) fig.partial = done;
    if (!best || fig.usPerRule < best.usPerRule) best = fig;
    if (fig.partial !== undefined) break; // slow: one round is enough
  }
  return best!;
}

/** One change for the whole list, best of reps. */
function batch(c: Ctx, list: FlowMod | FlowMod[], withRules: boolean, count: (r: ReturnType<TablesLike['apply']>) => number): Fig {
  let best: Fig | null = null;
  for (let rep = 0; rep < c.reps; rep++) {
    const tables = fresh(c, withRules);
    const t0 = performance.now();
    const affected = count(tables.apply(list));
    const ms = performance.now() - t0;
    const fig: Fig = { usPerRule: (ms * 1000) / Math.max(1, affected), affected };
    if (!best || fig.usPerRule < best.usPerRule) best = fig;
    if (ms > c.budgetMs) break;
  }
  return best!;
}

const nAdded = (r: ReturnType<TablesLike['apply']>): number => r.added.length;
const nReplaced = (r: ReturnType<TablesLike['apply']>): number => r.replaced.length;
const nDeleted = (r: ReturnType<TablesLike['apply']>): number => r.deleted.length;

function versionBumps(c: Ctx): { bump: number; bumpPinned: number; gcRelease: number } {
  const K = 2000;
  let bump = Infinity;
  let bumpPinned = Infinity;
  let gcRelease = Infinity;
  for (let rep = 0; rep < c.reps; rep++) {
    const tables = fresh(c, true);
    for (let k = 0; k < 200; k++) tables.apply([]); // warm-up
    let t0 = performance.now();
    for (let k = 0; k < K; k++) tables.apply([]);
    bump = Math.min(bump, ((performance.now() - t0) * 1000) / K);
    const pin = tables.acquireVersion();
    tables.apply(c.mods.modStrict);
    const kp = Math.max(50, Math.min(K, Math.floor(2e6 / c.n)));
    t0 = performance.now();
    for (let k = 0; k < kp; k++) tables.apply([]);
    bumpPinned = Math.min(bumpPinned, ((performance.now() - t0) * 1000) / kp);
    t0 = performance.now();
    tables.releaseVersion(pin);
    gcRelease = Math.min(gcRelease, performance.now() - t0);
  }
  return { bump, bumpPinned, gcRelease };
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

function runAll(Impl: TablesCtor, sizes: number[], reps: number, budgetMs: number, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of sizes) {
    const mods = makeMods(n);
    const c: Ctx = { Impl, mods, n, reps: n >= 10000 ? Math.min(reps, 2) : reps, budgetMs };
    const put = (name: string, f: Fig): void => {
      out[`${name}_${n}_us_per_rule`] = r2(f.usPerRule);
      if (f.affected !== n) out[`${name}_${n}_affected`] = f.affected;
      if (f.partial !== undefined) out[`${name}_${n}_partial`] = f.partial;
      process.stderr.write(`oftables ${label} n=${n} ${name}: ${r2(f.usPerRule)} us/rule${f.partial !== undefined ? ` (${f.partial} changes in budget)` : ''}\n`);
    };
    put('add_1by1', oneByOne(c, mods.add, false, nAdded));
    put('add_batch', batch(c, mods.add, false, nAdded));
    put('modify_strict_1by1', oneByOne(c, mods.modStrict, true, nReplaced));
    put('modify_strict_batch', batch(c, mods.modStrict, true, nReplaced));
    put('modify_loose_1by1', oneByOne(c, mods.modLoose, true, nReplaced));
    put('modify_loose_batch', batch(c, mods.modLoose, true, nReplaced));
    put('modify_loose_all', batch(c, mods.modAll, true, nReplaced));
    put('delete_strict_1by1', oneByOne(c, mods.delStrict, true, nDeleted));
    put('delete_strict_batch', batch(c, mods.delStrict, true, nDeleted));
    put('delete_loose_1by1', oneByOne(c, mods.delLoose, true, nDeleted));
    put('delete_loose_batch', batch(c, mods.delLoose, true, nDeleted));
    put('delete_loose_all', batch(c, mods.delAll, true, nDeleted));
    const v = versionBumps(c);
    out[`version_bump_${n}_us`] = r2(v.bump);
    out[`version_bump_pinned_${n}_us`] = r2(v.bumpPinned);
    out[`gc_release_${n}_ms`] = r2(v.gcRelease);
    process.stderr.write(`oftables ${label} n=${n} version bump ${r2(v.bump)} us, pinned ${r2(v.bumpPinned)} us, gc on release ${r2(v.gcRelease)} ms\n`);
  }
  if (sizes.length > 1) {
    const lo = sizes[0]!;
    const hi = sizes[sizes.length - 1]!;
    for (const k of Object.keys(out)) {
      const m = /^(.*)_(\d+)_us_per_rule$/.exec(k);
      if (!m || Number(m[2]) !== hi) continue;
      const a = out[`${m[1]}_${lo}_us_per_rule`];
      if (a) out[`scaling_${m[1]}`] = r2(out[k]! / a);
    }
  }
  return out;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (opt('--sizes') ?? '1000,10000').split(',').map(Number);
  const reps = Number(opt('--reps') ?? 3);
  const budgetMs = Number(opt('--budget-ms') ?? 4000);
  const baseline = opt('--baseline');
  const out: Record<string, unknown> = { sizes: sizes.join(',') };
  const cur = runAll(OfTables as unknown as TablesCtor, sizes, reps, budgetMs, 'current');
  Object.assign(out, cur);
  if (baseline) {
    const mod = (await import(baseline)) as { OfTables: TablesCtor };
    const base = runAll(mod.OfTables, sizes, reps, budgetMs, 'baseline');
    for (const [k, v] of Object.entries(base)) {
      out[`${k}_base`] = v;
      const c = cur[k];
      if (c && !k.startsWith('scaling_') && !k.endsWith('_affected') && !k.endsWith('_partial')) out[`${k}_speedup`] = r2(v / c);
    }
    out.baseline = baseline;
  }
  return out;
}
