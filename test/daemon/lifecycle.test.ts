import { expect } from 'chai';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isProcessAlive, type ShowResult } from '@tsvs/control';
import { answers, cleanup, cli, safeRead, sandbox, startForeground, type Sandbox } from './helpers.js';

describe('daemon e2e: start, stop, show', function () {
  this.timeout(30000);
  let sb: Sandbox;
  beforeEach(() => (sb = sandbox()));
  afterEach(() => cleanup(sb));

  it('runs in the foreground, serves show, and stops on `tsvs stop` (pidfile and socket removed)', async () => {
    const fg = await startForeground(sb, ['--pidfile', sb.pidfile, '--bridge', 'br7', '--pmd-threads', '2']);
    expect(statSync(sb.socket).mode & 0o777).to.equal(0o600);
    expect(readFileSync(sb.pidfile, 'utf8')).to.equal(`${fg.proc.pid}\n`);
    const show = await cli(sb, ['show', '--json']);
    expect(show.code, show.stderr).to.equal(0);
    const s = JSON.parse(show.stdout) as ShowResult;
    expect(s.pid).to.equal(fg.proc.pid);
    // The datapath's local port (odp port 0) is named after the bridge, OpenFlow LOCAL (65534).
    expect(s.bridge.name).to.equal('br7');
    expect(s.bridge.ports).to.have.length(1);
    expect(s.bridge.ports[0]).to.include({ name: 'br7', ofport: 65534, odpPort: 0, state: 'up' });
    expect(s.datapath).to.deep.equal({ name: 'br7', hit: 0, missed: 0, lost: 0, flows: 0 });
    expect(s.threads.pmd).to.include({ count: 2, auto: false, alive: 2, restarts: 0 });
    expect(s.threads.handler).to.include({ auto: true, restarts: 0 });
    expect(s.threads.revalidator).to.include({ auto: true, restarts: 0 });
    expect(s.tunables['max-idle']).to.equal(10000);
    expect(s.socket).to.equal(sb.socket);
    expect(s.configPath).to.equal(sb.config);
    expect(s.uptimeMs).to.be.a('number');
    // Logs go to stderr as pino JSON lines.
    expect(fg.stderr()).to.match(/"msg":"tsvs daemon ready"/);

    const stop = await cli(sb, ['stop']);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(stop.stdout).to.match(/tsvs daemon stopped \(pid \d+\)/);
    expect(await fg.exited).to.deep.equal({ code: 0, signal: null });
    expect(existsSync(sb.socket)).to.equal(false);
    expect(existsSync(sb.pidfile)).to.equal(false);
    expect(fg.stderr()).to.match(/"msg":"tsvs daemon stopped"/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops gracefully on ${signal}`, async () => {
      const fg = await startForeground(sb, ['--pidfile', sb.pidfile]);
      fg.proc.kill(signal);
      expect(await fg.exited).to.deep.equal({ code: 0, signal: null });
      expect(existsSync(sb.socket)).to.equal(false);
      expect(existsSync(sb.pidfile)).to.equal(false);
      expect(fg.stderr()).to.contain(`"reason":"signal ${signal}"`);
    });
  }

  it('detaches with a pidfile and a log file, returns once the socket answers, and stops', async () => {
    const start = await cli(sb, ['start', '--detach', '--config', sb.config, '--handler-threads', '2']);
    expect(start.code, start.stderr).to.equal(0);
    expect(start.stdout).to.contain(`socket ${sb.socket}`);
    // Defaults next to the socket.
    const pid = Number(readFileSync(sb.pidfile, 'utf8'));
    sb.pids.add(pid);
    expect(isProcessAlive(pid)).to.equal(true);
    expect(await answers(sb.socket)).to.equal(true);
    const s = JSON.parse((await cli(sb, ['show', '--json'])).stdout) as ShowResult;
    expect(s.pid).to.equal(pid);
    expect(s.threads.handler).to.include({ count: 2, auto: false });
    expect(safeRead(sb.log)).to.match(/"msg":"tsvs daemon ready"/);

    const again = await cli(sb, ['start', '--detach', '--config', sb.config]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.equal(`tsvs: another daemon is listening on ${sb.socket}\n`);

    const stop = await cli(sb, ['stop']);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(isProcessAlive(pid)).to.equal(false);
    expect(existsSync(sb.pidfile)).to.equal(false);
    expect(safeRead(sb.log)).to.match(/"msg":"tsvs daemon stopped"/);
  });

  it('prints show as text with bridge, threads, tunables, pid and uptime', async () => {
    await startForeground(sb, ['--bridge', 'brX']);
    const r = await cli(sb, ['show']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^tsvs \S+: pid \d+, up \d/);
    expect(r.stdout).to.contain('Bridge brX');
    expect(r.stdout).to.match(/pmd\s+1 \(auto\)\s+alive 1\s+restarts 0/);
    expect(r.stdout).to.match(/max-idle\s+10000 ms/);
    expect(r.stdout).to.match(/mac-table-size\s+2048 entries/);
  });

  it('exits 3 naming the socket when no daemon runs, for every command', async () => {
    for (const args of [['show'], ['show', '--json'], ['stop'], ['set', 'log-level', 'info'], ['set', 'config', 'max-idle=1000'], ['set', 'threads', '--pmd', '1']]) {
      const r = await cli(sb, args);
      expect(r.code, args.join(' ')).to.equal(3);
      expect(r.stdout).to.equal('');
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).to.have.length(1);
      expect(r.stderr).to.contain(`cannot reach the tsvs daemon at ${sb.socket}`);
    }
    // --socket wins over TSVS_SOCKET.
    const other = `${sb.dir}/other.sock`;
    const r = await cli(sb, ['show', '--socket', other]);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.contain(other);
    // A stale socket file (daemon killed) is reported as refused, still exit 3.
    writeFileSync(`${sb.dir}/notasocket`, '');
    const r2 = await cli(sb, ['show', '--socket', `${sb.dir}/notasocket`]);
    expect(r2.code).to.equal(3);
  });
});
