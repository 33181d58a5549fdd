import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI_ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(CLI_ROOT, 'bin/run.js');
const COMMANDS = join(CLI_ROOT, 'dist/commands');

function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

function tsvs(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('cli: commands, help and usage errors', function () {
  this.timeout(30000);

  it('has no oclif.manifest.json (a stale manifest hides commands)', () => {
    expect(existsSync(join(CLI_ROOT, 'oclif.manifest.json'))).to.equal(false);
  });

  it('gives every command a description and examples', async () => {
    const files = commandFiles(COMMANDS);
    expect(files.length).to.be.greaterThan(5);
    for (const f of files) {
      const cmd = (await import(pathToFileURL(f).href)).default as { description?: string; examples?: unknown[] };
      const id = relative(COMMANDS, f).replace(/\.js$/, '').split('/').join(' ');
      expect(cmd.description, id).to.be.a('string').and.not.equal('');
      expect(cmd.examples, id).to.be.an('array').that.is.not.empty;
    }
  });

  it('lists the commands with topics separated by spaces and shows examples in help', () => {
    const top = tsvs(['--help']);
    expect(top.status).to.equal(0);
    expect(top.stdout).to.match(/^EXAMPLES\n {2}Start the daemon/m);
    for (const c of ['start', 'stop', 'show', 'set', 'add-port', 'del-port', 'inject', 'add-flow', 'add-flows', 'mod-flows', 'del-flows', 'dump-flows', 'trace', 'monitor', 'watch', 'dpctl', 'pmd', 'fdb', 'upcall', 'revalidator']) {
      expect(top.stdout, c).to.match(new RegExp(`^  ${c}\\b`, 'm'));
    }
    const dpctl = tsvs(['dpctl', '--help']);
    for (const c of ['dpctl dump-flows', 'dpctl get-flow', 'dpctl add-flow', 'dpctl mod-flow', 'dpctl del-flow', 'dpctl del-flows']) expect(dpctl.stdout).to.contain(c);
    const set = tsvs(['set', '--help']);
    for (const c of ['set config', 'set log-level', 'set threads']) expect(set.stdout).to.contain(c);
    for (const c of [['show'], ['start'], ['set', 'config'], ['add-port'], ['inject'], ['dpctl', 'dump-flows'], ['trace'], ['watch'], ['upcall', 'show'], ['pmd', 'stats']]) {
      const h = tsvs([...c, '--help']);
      expect(h.status).to.equal(0);
      expect(h.stdout, c.join(' ')).to.contain('EXAMPLES');
      expect(h.stdout).to.contain('--socket');
    }
  });

  it('exits 2 with one line on stderr for bad usage, before contacting any daemon', () => {
    const dir = mkdtempSync('/tmp/tsvs-cli-');
    try {
      const env = { TSVS_SOCKET: join(dir, 'none.sock') };
      for (const args of [
        ['show', '--bogus'],
        ['show', 'extra-arg'],
        ['set', 'threads'],
        ['set', 'threads', '--pmd', '0'],
        ['set', 'log-level'],
        ['set', 'log-level', 'chatty'],
        ['set', 'config', 'nope=1'],
        ['start', '--pmd-threads', 'many'],
        ['start', '--log-level', 'loud'],
        ['add-port', 'p1'],
        ['add-port', 'p1', '--type', 'floppy'],
        ['add-port', 'p1', '--type', 'memory', '--option', 'x'],
        ['add-port', 'p1', '--type', 'memory', '--tag', '5000'],
        ['inject', 'p1'],
        ['inject', 'p1', '--packet', '0102'],
        ['inject', 'p1', '--packet', 'ff', '--pcap', 'x.pcap'],
        ['dpctl', 'dump-flows', '-m', '--terse'],
        ['dpctl', 'get-flow'],
        ['trace'],
        ['trace', '--packet', '000000000001000000000002080045'],
        ['upcall', 'set-flow-limit', '-5'],
        ['watch', '--interval', '1'],
        ['revalidator', 'nap'],
      ]) {
        const r = tsvs(args, env);
        expect(r.status, args.join(' ')).to.equal(2);
        expect(r.stdout, args.join(' ')).to.equal('');
        expect(r.stderr.trimEnd().split('\n'), `${args.join(' ')}: ${r.stderr}`).to.have.length(1);
        expect(r.stderr).to.match(/^tsvs: /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
