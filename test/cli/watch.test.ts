/**
 * `tsvs watch` on a real terminal: the CLI runs under script(1), which gives it a pseudo-terminal
 * (stdin and stdout are ttys), against a real daemon. The dashboard must draw its sections with the
 * daemon's ports and threads, refresh, and exit cleanly (status 0, cursor shown again) on `q` and
 * on Ctrl-C. The plain (non-terminal) mode is tested with a pipe in test/daemon/switch-commands.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, cleanup, cli, sandbox, sleep, startForeground, until, type Sandbox } from '../daemon/helpers.js';

const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;

function onPty(sb: Sandbox, args: string[]): { output: () => string; send: (s: string) => void; exited: Promise<number | null> } {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // -q quiet, -f flush, -e child's exit status, -c command; the typescript goes to /dev/null.
  // Without CI: ink (through is-in-ci) draws no live frames when CI is set, as it is on CI runners.
  const { CI: _ci, ...env } = process.env;
  const p = spawn('script', ['-qfec', cmd, '/dev/null'], {
    env: { ...env, TSVS_SOCKET: sb.socket, TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (p.pid) sb.pids.add(p.pid);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  return { output: () => out, send: (s) => p.stdin.write(s), exited: new Promise((r) => p.on('close', (code) => r(code))) };
}

describe('cli: watch dashboard on a terminal', function () {
  this.timeout(40000);
  let sb: Sandbox;

  before(async function () {
    if (!hasScript) {
      console.log('    skipped: script(1) (util-linux) is needed for a pseudo-terminal');
      this.skip();
    }
    sb = sandbox();
    await startForeground(sb);
    for (const a of [['add-port', 'p1', '--type', 'memory'], ['add-port', 'p2', '--type', 'memory']]) {
      const r = await cli(sb, a);
      expect(r.code, r.stderr).to.equal(0);
    }
  });
  after(async () => {
    if (sb) await cleanup(sb);
  });

  for (const [key, name] of [['q', 'q'], ['\x03', 'Ctrl-C']] as const) {
    it(`draws revalidators, flows, PMDs and ports, refreshes, and exits cleanly on ${name}`, async () => {
      const w = onPty(sb, ['watch', '--interval', '300']);
      await until(() => /Ports[\s\S]*p2/.test(w.output()), 15000, 'the dashboard');
      // Text without the terminal's escape sequences (colours, bold, cursor moves).
      const first = w.output().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      for (const s of ['tsvs watch', 'Revalidators', 'keys', 'PMD threads', 'packets/s', 'emc hit %', 'megaflow %', 'upcalls/s', 'busy %', 'Ports', 'rx/s', 'tx/s', 'drops/s', 'pmd 0', 'br0', 'p1', 'q or Ctrl-C to quit']) {
        expect(first, s).to.contain(s);
      }
      expect(first).to.match(/flows \d+\/\d+/);
      await sleep(800);
      expect(w.output().length, 'redrawn at least once more').to.be.greaterThan(first.length);
      w.send(key);
      const code = await Promise.race([w.exited, sleep(5000).then(() => 'timeout' as const)]);
      expect(code, `exit on ${name}`).to.equal(0);
      expect(w.output(), 'cursor shown again').to.contain('\x1b[?25h');
    });
  }
});
