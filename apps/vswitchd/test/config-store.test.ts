import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigStore, resolveThreadCounts } from '@tsvs/vswitchd';

describe('vswitchd/ConfigStore', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsvs-cfg-'));
    path = join(dir, 'sub', 'config.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a missing file with defaults, mode 0600, and loads it back', async () => {
    const s = new ConfigStore(path);
    expect(await s.load()).to.deep.equal({ created: true });
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    expect(onDisk.version).to.equal(1);
    expect(onDisk.bridge).to.deep.equal({ name: 'br0' });
    expect(onDisk.tunables['max-idle']).to.equal(10000);
    const again = new ConfigStore(path);
    expect(await again.load()).to.deep.equal({ created: false });
    expect(again.get()).to.deep.equal(s.get());
  });

  it('persists every update atomically and leaves no temp files', async () => {
    const s = new ConfigStore(path);
    await s.load();
    await s.update('test', (d) => {
      d.ports.push({ name: 'p1', type: 'memory', ofport: 1, options: { rxqs: '2' } });
      d.openflow.rules.push('priority=10,in_port=1,actions=output:2');
      d.tunables['flow-limit'] = 5000;
      d.threads.pmd = 2;
    });
    const back = new ConfigStore(path);
    await back.load();
    expect(back.get().ports).to.deep.equal([{ name: 'p1', type: 'memory', ofport: 1, options: { rxqs: '2' } }]);
    // A new config holds OVS's default rule of a new bridge; the pushed one follows it.
    expect(back.get().openflow.rules).to.deep.equal(['priority=0 actions=NORMAL', 'priority=10,in_port=1,actions=output:2']);
    expect(back.get().tunables['flow-limit']).to.equal(5000);
    expect(back.get().threads).to.deep.equal({ pmd: 2, handler: null, revalidator: null });
    expect(readdirSync(join(dir, 'sub'))).to.deep.equal(['config.json']);
  });

  it('refuses an invalid update and changes neither memory nor disk', async () => {
    const s = new ConfigStore(path);
    await s.load();
    const before = readFileSync(path, 'utf8');
    const err = await s
      .update('test', (d) => {
        d.ports.push({ name: 'p1', type: 'memory', ofport: 1, options: {} });
        d.ports.push({ name: 'p1', type: 'memory', ofport: 2, options: {} });
      })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).field).to.equal('ports[1].name');
    expect(s.get().ports).to.deep.equal([]);
    expect(readFileSync(path, 'utf8')).to.equal(before);
  });

  const refused: [string, string, string | undefined, number][] = [
    ['syntax: missing comma', '{\n  "version": 1\n  "bridge": {"name": "br0"}\n}\n', undefined, 3],
    ['syntax: trailing comma', '{\n  "version": 1,\n}\n', undefined, 3],
    ['syntax: comment', '{\n  // hi\n  "version": 1\n}\n', undefined, 2],
    ['syntax: truncated', '{\n  "version": 1,\n  "bridge": {"na', undefined, 3],
    ['empty file', '', undefined, 1],
    ['missing version', '{\n  "bridge": {"name": "br0"}\n}\n', 'version', 1],
    ['bad thread count', '{\n  "version": 1,\n  "threads": {\n    "pmd": 0\n  }\n}\n', 'threads.pmd', 4],
    ['wrong type', '{\n  "version": 1,\n  "tunables": {"max-idle": "10"}\n}\n', 'tunables.max-idle', 3],
    ['below the OVS minimum', '{\n  "version": 1,\n  "tunables": {\n    "max-revalidator": 10\n  }\n}\n', 'tunables.max-revalidator', 4],
    ['unknown field', '{\n  "version": 1,\n  "bridge": {"name": "br0"},\n  "colour": "blue"\n}\n', 'colour', 4],
    ['unknown port type', '{"version": 1, "ports": [{"name": "p1", "type": "tap"}]}', 'ports[0].type', 1],
    ['bad bridge name', '{"version": 1, "bridge": {"name": "this-name-is-too-long"}}', 'bridge.name', 1],
    ['duplicate ofport', '{"version":1,"ports":[{"name":"a","type":"memory","ofport":1},{"name":"b","type":"memory","ofport":1}]}', 'ports[1].ofport', 1],
    ['not an object', '[1, 2]', '', 1],
  ];
  for (const [what, text, field, line] of refused) {
    it(`refuses a config file with ${what}, naming ${field ?? 'the line'}, and leaves it untouched`, async () => {
      writeFileSync(join(dir, 'c.json'), text);
      const mtime = statSync(join(dir, 'c.json')).mtimeMs;
      const s = new ConfigStore(join(dir, 'c.json'));
      const err = await s.load().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.field).to.equal(field);
      expect(e.line).to.equal(line);
      expect(e.message).to.not.contain('\n');
      expect(e.message).to.contain(join(dir, 'c.json'));
      if (field === undefined) expect(e.message).to.match(/syntax error/);
      expect(readFileSync(join(dir, 'c.json'), 'utf8')).to.equal(text);
      expect(statSync(join(dir, 'c.json')).mtimeMs).to.equal(mtime);
      expect(readdirSync(dir)).to.deep.equal(['c.json']);
    });
  }

  it('lets subsystems register sections with their own schema and defaults', async () => {
    const s = new ConfigStore(path);
    s.registerSection('datapath', z.strictObject({ 'emc-enabled': z.boolean().default(true) }).default({ 'emc-enabled': true }));
    expect(() => s.registerSection('ports', z.any())).to.throw(/already exists/);
    await s.load();
    expect(s.section('datapath')).to.deep.equal({ 'emc-enabled': true });
    await s.update('test', (d) => {
      (d['datapath'] as { 'emc-enabled': boolean })['emc-enabled'] = false;
    });
    const err = await s.update('test', (d) => void (d['datapath'] = { 'emc-enabled': 'no' })).catch((e: ConfigError) => e);
    expect(err.field).to.equal('datapath.emc-enabled');
    const back = new ConfigStore(path);
    back.registerSection('datapath', z.strictObject({ 'emc-enabled': z.boolean().default(true) }).default({ 'emc-enabled': true }));
    await back.load();
    expect(back.section('datapath')).to.deep.equal({ 'emc-enabled': false });
    // Without the section registered, the file is refused rather than silently dropping data.
    const bare = await new ConfigStore(path).load().catch((e: ConfigError) => e);
    expect((bare as ConfigError).field).to.equal('datapath');
  });
});

describe('vswitchd/thread defaults (OVS ofproto_set_threads, one PMD per NUMA node)', () => {
  const none = { pmd: null, handler: null, revalidator: null };
  it('matches the OVS formulas', () => {
    // cores -> [handlers, revalidators]: threads = max(cores, 2); revalidators = threads/4 + 1; handlers = threads - revalidators
    const table: [number, number, number][] = [
      [1, 1, 1],
      [2, 1, 1],
      [4, 2, 2],
      [8, 5, 3],
      [16, 11, 5],
    ];
    for (const [cores, handler, revalidator] of table) {
      expect(resolveThreadCounts(none, { cpuCores: cores, numaNodes: 1 }), `${cores} cores`).to.deep.equal({ pmd: 1, handler, revalidator });
    }
    expect(resolveThreadCounts(none, { cpuCores: 16, numaNodes: 2 }).pmd).to.equal(2);
    // Handlers set: revalidators = max(threads - handlers, 1).
    expect(resolveThreadCounts({ ...none, handler: 3 }, { cpuCores: 8, numaNodes: 1 })).to.deep.equal({ pmd: 1, handler: 3, revalidator: 5 });
    expect(resolveThreadCounts({ ...none, handler: 9 }, { cpuCores: 8, numaNodes: 1 })).to.deep.equal({ pmd: 1, handler: 9, revalidator: 1 });
    // Revalidators set: handlers = max(threads - revalidators, 1).
    expect(resolveThreadCounts({ ...none, revalidator: 6 }, { cpuCores: 8, numaNodes: 1 })).to.deep.equal({ pmd: 1, handler: 2, revalidator: 6 });
    expect(resolveThreadCounts({ pmd: 3, handler: 2, revalidator: 2 }, { cpuCores: 8, numaNodes: 1 })).to.deep.equal({ pmd: 3, handler: 2, revalidator: 2 });
  });
});
