/**
 * Flow table changes against OVS 3.1: the scenarios of tools/ovs-golden/ofctl-rules-ops-cases.json
 * (add-flow / mod-flows [--strict] / del-flows [--strict] sequences) and what
 * `ovs-ofctl dump-flows --no-stats` showed after each step (test/golden/ofctl-rules/ops.json,
 * made by tools/ovs-golden/ofctl-rules-ops.sh). Replacement of identical rules, loose and strict
 * selection, cookie masks, out_port, modify-adds-when-nothing-matches and what a modify keeps
 * must all come out the same.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfTables, parseFlowMod, type FlowModCommand } from '@tsvs/ofproto';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = path.resolve(here, '../../../test/golden/ofctl-rules/ops.json');

interface Step { cmd: string; arg: string; ok: boolean; error?: string; dump: string[] }
interface Scenario { name: string; steps: Step[] }
const scenarios = JSON.parse(readFileSync(golden, 'utf8')) as Scenario[];

const COMMANDS: Record<string, FlowModCommand> = {
  'add-flow': 'add',
  'mod-flows': 'modify',
  'mod-flows --strict': 'modify_strict',
  'del-flows': 'delete',
  'del-flows --strict': 'delete_strict',
};

describe('flow table changes vs ovs-ofctl on OVS 3.1 (golden)', () => {
  it('has scenarios', () => {
    expect(scenarios.length).to.be.greaterThanOrEqual(7);
  });
  for (const sc of scenarios) {
    it(sc.name, () => {
      let t = 0;
      const tables = new OfTables({ now: () => t });
      for (const [i, step] of sc.steps.entries()) {
        t += 1000;
        const command = COMMANDS[step.cmd];
        expect(command, step.cmd).to.not.equal(undefined);
        const before = tables.version;
        if (step.ok) {
          tables.apply(parseFlowMod(step.arg, command!));
        } else {
          expect(() => tables.apply(parseFlowMod(step.arg, command!))).to.throw();
          expect(tables.version).to.equal(before);
        }
        const dump = tables.dumpFlows({}, { showStats: false }).sort();
        expect(dump, `after step ${i + 1}: ${step.cmd} ${step.arg}`).to.deep.equal(step.dump);
      }
    });
  }
});
