import { expect } from 'chai';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isProcessAlive, type ShowResult } from '@tsvs/control';
import { cleanup, cli, sandbox, startForeground, until, type Sandbox } from './helpers.js';

async function show(sb: Sandbox): Promise<ShowResult> {
  const r = await cli(sb, ['show', '--json']);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as ShowResult;
}

describe('daemon e2e: configuration', function () {
  this.timeout(40000);
  let sb: Sandbox;
  beforeEach(() => (sb = sandbox()));
  afterEach(() => cleanup(sb));

  it('sets tunables live and saves them; a bad key or value changes nothing and exits 2 with one line', async () => {
    await startForeground(sb);
    const ok = await cli(sb, ['set', 'config', 'max-idle=20000', 'flow-limit=5000']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal('max-idle=20000 (was 10000)\nflow-limit=5000 (was 200000)\n');
    expect((await show(sb)).tunables).to.include({ 'max-idle': 20000, 'flow-limit': 5000 });
    expect(JSON.parse(readFileSync(sb.config, 'utf8')).tunables).to.include({ 'max-idle': 20000, 'flow-limit': 5000 });

    const json = await cli(sb, ['set', 'config', 'mac-aging-time=60', '--json']);
    expect(JSON.parse(json.stdout)).to.deep.include({ changed: ['mac-aging-time'] });

    const file = readFileSync(sb.config, 'utf8');
    const mtime = statSync(sb.config).mtimeMs;
    const bad: [string[], RegExp][] = [
      [['set', 'config', 'max-idle=30000', 'bogus=1'], /^tsvs: "bogus=1": unknown key "bogus"/],
      [['set', 'config', 'max-idle=30000', 'flow-limit=abc'], /^tsvs: "flow-limit=abc": flow-limit takes a non-negative integer/],
      [['set', 'config', 'max-revalidator=50'], /^tsvs: "max-revalidator=50": max-revalidator must be at least 100 ms/],
      [['set', 'config', 'max-idle'], /expected KEY=VALUE/],
      [['set', 'config'], /no KEY=VALUE given/],
    ];
    for (const [args, re] of bad) {
      const r = await cli(sb, args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(re);
      expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    }
    expect(readFileSync(sb.config, 'utf8')).to.equal(file);
    expect(statSync(sb.config).mtimeMs).to.equal(mtime);
    expect((await show(sb)).tunables).to.include({ 'max-idle': 20000, 'flow-limit': 5000, 'mac-aging-time': 60 });
  });

  it('sets thread counts live, saves them, and refuses bad counts with exit 2', async () => {
    await startForeground(sb);
    const r = await cli(sb, ['set', 'threads', '--pmd', '2', '--handlers', '3']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('threads: pmd 2, handler 3, revalidator 1\n');
    const s = await show(sb);
    expect(s.threads.pmd).to.include({ count: 2, alive: 2, auto: false });
    expect(s.threads.handler).to.include({ count: 3, alive: 3, auto: false });
    expect(JSON.parse(readFileSync(sb.config, 'utf8')).threads).to.deep.equal({ pmd: 2, handler: 3, revalidator: null });
    const down = await cli(sb, ['set', 'threads', '--handlers', '1', '--json']);
    expect(JSON.parse(down.stdout)).to.deep.equal({ threads: { pmd: 2, handler: 1, revalidator: 1 } });
    expect((await show(sb)).threads.handler).to.include({ count: 1, alive: 1, restarts: 0 });
    for (const args of [['set', 'threads'], ['set', 'threads', '--pmd', '0'], ['set', 'threads', '--pmd', 'x'], ['set', 'threads', '--pmd', '65']]) {
      const b = await cli(sb, args);
      expect(b.code, args.join(' ')).to.equal(2);
      expect(b.stderr.trimEnd().split('\n')).to.have.length(1);
    }
  });

  it('changes the log level at runtime and refuses an unknown level with exit 2', async () => {
    const fg = await startForeground(sb);
    expect((await cli(sb, ['set', 'log-level', 'debug'])).stdout).to.equal('log level debug (was info)\n');
    expect((await show(sb)).logLevel).to.equal('debug');
    await cli(sb, ['show']);
    await until(() => /"level":20,/.test(fg.stderr()), 5000, 'a debug line');
    const bad = await cli(sb, ['set', 'log-level', 'loud']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trimEnd().split('\n')).to.have.length(1);
  });

  it('restores bridge, threads and tunables after a stop and a restart', async () => {
    await startForeground(sb, ['--bridge', 'brA']);
    await cli(sb, ['set', 'config', 'max-idle=15000', 'mac-table-size=100']);
    await cli(sb, ['set', 'threads', '--revalidators', '2']);
    const before = await show(sb);
    expect((await cli(sb, ['stop'])).code).to.equal(0);
    await startForeground(sb);
    const after = await show(sb);
    expect(after.bridge).to.deep.equal(before.bridge);
    expect(after.tunables).to.deep.equal(before.tunables);
    expect(after.threads.revalidator).to.include({ count: 2, auto: false, alive: 2 });
    expect(after.pid).to.not.equal(before.pid);
  });

  it('restores the config after kill -9 (stale socket and pidfile are replaced)', async () => {
    const start = await cli(sb, ['start', '--detach', '--config', sb.config]);
    expect(start.code, start.stderr).to.equal(0);
    const pid = Number(readFileSync(sb.pidfile, 'utf8'));
    sb.pids.add(pid);
    await cli(sb, ['set', 'config', 'emc-insert-inv-prob=7', 'min-revalidate-pps=9']);
    await cli(sb, ['set', 'threads', '--pmd', '2']);
    process.kill(pid, 'SIGKILL');
    await until(() => !isProcessAlive(pid), 5000, 'the daemon to die');
    expect(statSync(sb.socket).isSocket(), 'the socket file is left behind').to.equal(true);
    const restart = await cli(sb, ['start', '--detach', '--config', sb.config]);
    expect(restart.code, restart.stderr).to.equal(0);
    const s = await show(sb);
    expect(s.pid).to.not.equal(pid);
    expect(s.tunables).to.include({ 'emc-insert-inv-prob': 7, 'min-revalidate-pps': 9 });
    expect(s.threads.pmd).to.include({ count: 2, alive: 2 });
    expect((await cli(sb, ['stop'])).code).to.equal(0);
  });

  const corrupt: [string, string, RegExp][] = [
    ['a syntax error', '{\n  "version": 1,\n  "bridge": { "name": "br0" }\n  "ports": []\n}\n', /syntax error: ',' expected \(line 4, column 3\)$/],
    ['an invalid field', '{\n  "version": 1,\n  "threads": {\n    "pmd": -1\n  }\n}\n', /: threads\.pmd: Too small: expected number to be >=1 \(line 4\)$/],
    ['an unknown tunable', '{\n  "version": 1,\n  "tunables": {\n    "max_idle": 500\n  }\n}\n', /: tunables\.max_idle: unknown field \(line 4\)$/],
  ];
  for (const [what, text, re] of corrupt) {
    for (const mode of ['foreground', 'detached'] as const) {
      it(`refuses a config file with ${what} (${mode}): exit 2, one line naming it, file untouched`, async () => {
        writeFileSync(sb.config, text);
        const mtime = statSync(sb.config).mtimeMs;
        const args = ['start', '--config', sb.config, ...(mode === 'detached' ? ['--detach'] : [])];
        const r = await cli(sb, args);
        expect(r.code, r.stderr).to.equal(2);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, r.stderr).to.have.length(mode === 'detached' ? 1 : lines.length);
        // Foreground logs go to stderr too; the last line is the CLI's one-line error.
        const last = lines[lines.length - 1]!;
        expect(last).to.match(/^tsvs: config file /);
        expect(last).to.contain(sb.config);
        expect(last).to.match(re);
        expect(readFileSync(sb.config, 'utf8')).to.equal(text);
        expect(statSync(sb.config).mtimeMs).to.equal(mtime);
      });
    }
  }

  it('refuses a bad --bridge name with exit 2 and does not create the config', async () => {
    const r = await cli(sb, ['start', '--config', sb.config, '--bridge', 'bad name!']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).to.match(/^tsvs: bad option --bridge bad name!: must be 1 to 15 characters/);
    expect(existsSync(sb.config)).to.equal(false);
  });
});
