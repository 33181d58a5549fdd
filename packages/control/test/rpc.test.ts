import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  RpcClient,
  RpcConnectError,
  RpcError,
  RpcErrorCode,
  RpcRemoteError,
  RpcServer,
  callDaemon,
  coreParamSchemas,
  exitCodeForRpcError,
} from '@tsvs/control';

/** Sends raw bytes on a fresh connection and collects reply lines until `n` lines arrived or the peer closed. */
function raw(path: string, payload: string | Buffer, n: number): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    const lines: unknown[] = [];
    const done = (closed: boolean): void => {
      sock.destroy();
      resolve({ lines, closed });
    };
    sock.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        if (lines.length === n) done(false);
      }
    });
    sock.on('close', () => done(true));
    sock.write(payload);
  });
}

describe('control/rpc over a unix socket', () => {
  let dir: string;
  let path: string;
  let server: RpcServer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsvs-rpc-'));
    path = join(dir, 'ctl.sock');
    server = new RpcServer({ maxLineChars: 4096, maxBatch: 4 });
    server.register('threads/set', coreParamSchemas['threads/set'], (p) => ({ threads: { pmd: p.pmd ?? 1, handler: p.handler ?? 1, revalidator: p.revalidator ?? 1 } }));
    server.register('echo', z.strictObject({ text: z.string().max(10) }), (p) => p.text);
    server.register('fail', z.strictObject({}), () => {
      throw new RpcError(RpcErrorCode.NotFound, 'no port p9');
    });
    server.register('bug', z.strictObject({}), () => {
      throw new TypeError('x is undefined');
    });
    await server.listen(path);
  });

  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket with mode 0600 and serves typed calls', async () => {
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const r = await callDaemon(path, 'threads/set', { pmd: 3 });
    expect(r).to.deep.equal({ threads: { pmd: 3, handler: 1, revalidator: 1 } });
    const c = await RpcClient.connect(path);
    const results = await Promise.all([c.call('echo', { text: 'a' }), c.call('echo', { text: 'b' })]);
    c.close();
    expect(results).to.deep.equal(['a', 'b']);
  });

  it('answers invalid params with -32602 naming the field, and the CLI maps it to exit 2', async () => {
    const err = await callDaemon(path, 'threads/set', { pmd: 0 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcRemoteError);
    expect((err as RpcRemoteError).code).to.equal(RpcErrorCode.InvalidParams);
    expect((err as RpcRemoteError).message).to.match(/^invalid params: pmd: /);
    expect(exitCodeForRpcError((err as RpcRemoteError).code)).to.equal(2);
    const unknown = (await callDaemon(path, 'threads/set', { pmd: 1, bogus: 1 } as never).catch((e: unknown) => e)) as RpcRemoteError;
    expect(unknown.message).to.equal('invalid params: bogus: unknown field');
  });

  it('passes RpcError codes through and hides other handler errors behind -32603', async () => {
    const e1 = (await callDaemon(path, 'fail' as never).catch((e: unknown) => e)) as RpcRemoteError;
    expect([e1.code, e1.message]).to.deep.equal([RpcErrorCode.NotFound, 'no port p9']);
    expect(exitCodeForRpcError(e1.code)).to.equal(2);
    const e2 = (await callDaemon(path, 'bug' as never).catch((e: unknown) => e)) as RpcRemoteError;
    expect(e2.code).to.equal(RpcErrorCode.InternalError);
    expect(exitCodeForRpcError(e2.code)).to.equal(1);
  });

  it('answers malformed and hostile messages with errors and keeps serving', async () => {
    const cases: [string, number][] = [
      ['{"jsonrpc":"2.0","id":1,"method":', RpcErrorCode.ParseError],
      ['null', RpcErrorCode.InvalidRequest],
      ['42', RpcErrorCode.InvalidRequest],
      ['"show"', RpcErrorCode.InvalidRequest],
      ['[]', RpcErrorCode.InvalidRequest],
      ['[1,2,3,4,5]', RpcErrorCode.InvalidRequest],
      ['{"jsonrpc":"1.0","id":1,"method":"echo"}', RpcErrorCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":2,"method":"nope"}', RpcErrorCode.MethodNotFound],
      ['{"jsonrpc":"2.0","id":3,"method":"echo","params":{"text":5}}', RpcErrorCode.InvalidParams],
      ['{"jsonrpc":"2.0","id":4,"method":"echo","params":[1]}', RpcErrorCode.InvalidParams],
      ['{"jsonrpc":"2.0","id":5,"method":"echo","params":{"text":"01234567890"}}', RpcErrorCode.InvalidParams],
      ['{"jsonrpc":"2.0","id":6,"method":"__proto__"}', RpcErrorCode.MethodNotFound],
      ['{"jsonrpc":"2.0","id":7,"method":"echo","params":{"__proto__":{"x":1},"text":"a"}}', RpcErrorCode.InvalidParams],
    ];
    const { lines } = await raw(path, cases.map((c) => c[0]).join('\n') + '\n', cases.length);
    const codes = (lines as { error?: { code: number } }[]).map((l) => l.error?.code);
    expect(codes).to.have.members(cases.map((c) => c[1]));
    // A batch mixing good and bad entries gets one reply per entry that has an id.
    const batch = await raw(path, '[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"ok"}},null,{"jsonrpc":"2.0","method":"echo","params":{"text":"n"}}]\n', 1);
    expect(batch.lines[0]).to.deep.equal([
      { jsonrpc: '2.0', id: 1, result: 'ok' },
      { jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.InvalidRequest, message: 'Invalid Request: not a request object' } },
    ]);
    expect(await callDaemon(path, 'echo' as never, { text: 'alive' } as never)).to.equal('alive');
  });

  it('refuses a line over the limit with an error reply, closes that connection, serves others', async () => {
    const { lines, closed } = await raw(path, 'x'.repeat(10_000), 2);
    expect(closed).to.equal(true);
    expect(lines).to.have.length(1);
    expect((lines[0] as { error: { code: number; message: string } }).error.code).to.equal(RpcErrorCode.InvalidRequest);
    expect((lines[0] as { error: { message: string } }).error.message).to.match(/longer than 4096/);
    expect(await callDaemon(path, 'echo' as never, { text: 'alive' } as never)).to.equal('alive');
  });

  it('survives clients that vanish mid-request', async () => {
    for (let i = 0; i < 20; i++) {
      const s = net.connect(path);
      s.write('{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"x"}}\n{"jsonrpc":"2.0","id":2,');
      s.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(await callDaemon(path, 'echo' as never, { text: 'alive' } as never)).to.equal('alive');
  });

  it('replaces a stale socket file, refuses a live one and a non-socket file', async () => {
    const other = new RpcServer();
    const err = await other.listen(path).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/another daemon is listening/);
    await server.close();
    // A socket file nobody listens on: what a daemon killed with -9 leaves behind.
    const stalePath = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stalePath).isSocket()).to.equal(true);
    const s2 = new RpcServer();
    await s2.listen(stalePath);
    await s2.close();
    writeFileSync(join(dir, 'plain'), 'x');
    const e3 = await new RpcServer().listen(join(dir, 'plain')).catch((e: Error) => e);
    expect((e3 as Error).message).to.match(/not a socket/);
  });

  it('names the socket when nothing answers', async () => {
    const missing = join(dir, 'missing.sock');
    const err = await RpcClient.connect(missing).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RpcConnectError);
    expect((err as RpcConnectError).message).to.contain(missing);
    expect((err as RpcConnectError).socketPath).to.equal(missing);
  });
});
