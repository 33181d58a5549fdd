import { expect } from 'chai';
import net from 'node:net';
import { RpcClient, RpcErrorCode, type ShowResult } from '@tsvs/control';
import { cleanup, cli, sandbox, startForeground, until, type Sandbox } from './helpers.js';

/** Writes `payload` on a raw connection and collects reply lines until `n` arrived or the daemon closed. */
function raw(socket: string, payload: string, n: number): Promise<{ replies: { id: unknown; error?: { code: number; message: string } }[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    const replies: { id: unknown; error?: { code: number; message: string } }[] = [];
    let buf = '';
    const finish = (closed: boolean): void => {
      s.destroy();
      resolve({ replies, closed });
    };
    s.on('error', () => undefined);
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        if (replies.length === n) finish(false);
      }
    });
    s.on('close', () => finish(true));
    s.write(payload);
  });
}

async function show(sb: Sandbox): Promise<ShowResult> {
  const c = await RpcClient.connect(sb.socket);
  try {
    return await c.call('show');
  } finally {
    c.close();
  }
}

describe('daemon e2e: hostile control clients and crashing threads', function () {
  this.timeout(40000);
  let sb: Sandbox;
  beforeEach(() => (sb = sandbox()));
  afterEach(() => cleanup(sb));

  it('answers malformed JSON-RPC with errors and keeps running', async () => {
    const fg = await startForeground(sb);
    const lines = [
      '{"jsonrpc": "2.0", "method": "show", "id": 1',
      'not json at all',
      '\u0000\u0001\u0002',
      'null',
      '[]',
      '[1, {"jsonrpc":"2.0"}]',
      '{"jsonrpc":"2.0","id":2,"method":"no/such/method"}',
      '{"jsonrpc":"2.0","id":3,"method":"config/set","params":{"settings":{"max-idle":"fast"}}}',
      '{"jsonrpc":"2.0","id":4,"method":"config/set","params":{"settings":{"max-idle":1}}}',
      '{"jsonrpc":"2.0","id":5,"method":"threads/set","params":{"pmd":1e9}}',
      '{"jsonrpc":"2.0","id":6,"method":"log/set-level","params":{"level":{"toString":"x"}}}',
      '{"jsonrpc":"2.0","id":7,"method":"thread/crash","params":{"kind":"pmd","slot":9,"how":"exit"}}',
      '{"jsonrpc":"2.0","id":8,"method":"stop","params":{"now":true}}',
    ];
    const { replies } = await raw(sb.socket, lines.join('\n') + '\n', lines.length);
    const codeOf = (id: unknown): number | undefined => replies.find((r) => r.id === id)?.error?.code;
    expect(replies.filter((r) => r.id === null).map((r) => r.error?.code)).to.have.members([
      RpcErrorCode.ParseError,
      RpcErrorCode.ParseError,
      RpcErrorCode.ParseError,
      RpcErrorCode.InvalidRequest,
      RpcErrorCode.InvalidRequest,
    ]);
    // The batch [1, {...}] has two bad entries: one reply each, in one array.
    const batch = replies.find((r) => Array.isArray(r)) as unknown as { error: { code: number } }[];
    expect(batch.map((r) => r.error.code)).to.deep.equal([RpcErrorCode.InvalidRequest, RpcErrorCode.InvalidRequest]);
    expect(codeOf(2)).to.equal(RpcErrorCode.MethodNotFound);
    expect(codeOf(3)).to.equal(RpcErrorCode.InvalidParams);
    expect(codeOf(4)).to.equal(RpcErrorCode.InvalidParams);
    expect(codeOf(5)).to.equal(RpcErrorCode.InvalidParams);
    expect(codeOf(6)).to.equal(RpcErrorCode.InvalidParams);
    expect(codeOf(7)).to.equal(RpcErrorCode.NotFound);
    expect(codeOf(8), 'stop with unknown params is refused, not obeyed').to.equal(RpcErrorCode.InvalidParams);

    // A 4 MiB line without a newline: error reply, that connection closed.
    const huge = await raw(sb.socket, '{"jsonrpc":"2.0","id":1,"method":"show","params":{"x":"' + 'A'.repeat(4 << 20), 5);
    expect(huge.closed).to.equal(true);
    expect(huge.replies[0]?.error?.code).to.equal(RpcErrorCode.InvalidRequest);

    // Many connections opened and dropped mid-message.
    await Promise.all(
      Array.from({ length: 50 }, () => new Promise<void>((r) => {
        const s = net.connect(sb.socket, () => {
          s.write('{"jsonrpc":"2.0","id":1,"method":"sh');
          s.destroy();
          r();
        });
        s.on('error', () => r());
      })),
    );

    const s = await show(sb);
    expect(s.tunables['max-idle'], 'nothing was changed by the bad requests').to.equal(10000);
    const r = await cli(sb, ['show']);
    expect(r.code).to.equal(0);
    expect(fg.proc.exitCode).to.equal(null);
  });

  for (const kind of ['pmd', 'handler', 'revalidator'] as const) {
    for (const how of ['throw', 'exit', 'terminate'] as const) {
      // The real thread loops never call process.exit: that fault cannot be injected (tested below).
      if (how === 'exit') continue;
      it(`restarts a ${kind} thread that dies by ${how} within 1 s and counts it in show`, async () => {
        await startForeground(sb, ['--pmd-threads', '2']);
        const before = await show(sb);
        const slot = kind === 'pmd' ? 1 : 0;
        const victim = before.threads[kind].threads[slot]!.threadId;
        const c = await RpcClient.connect(sb.socket);
        try {
          const r = await c.call('thread/crash', { kind, slot, how });
          expect(r.threadId).to.equal(victim);
        } finally {
          c.close();
        }
        await until(async () => {
          const t = (await show(sb)).threads[kind];
          return t.restarts === 1 && t.alive === t.count;
        }, 10000, 'the restart');
        const after = await show(sb);
        const t = after.threads[kind];
        expect(t.threads[slot]!.threadId).to.not.equal(victim);
        expect(t.threads[slot]!.restarts).to.equal(1);
        expect(t.threads[slot]!.lastDowntimeMs, 'death to replacement ready').to.be.a('number').below(1000);
        for (const other of ['pmd', 'handler', 'revalidator'] as const) {
          if (other !== kind) expect(after.threads[other].restarts, other).to.equal(0);
        }
        const text = await cli(sb, ['show']);
        expect(text.stdout).to.match(new RegExp(`${kind}\\s+\\d+.*alive \\d+\\s+restarts 1`));
      });
    }
  }

  it('refuses to make a pmd, handler or revalidator thread exit (they never do) with a one-line error, nothing restarted', async () => {
    await startForeground(sb);
    const c = await RpcClient.connect(sb.socket);
    try {
      for (const kind of ['pmd', 'handler', 'revalidator']) {
        const err = await c.call('thread/crash', { kind, slot: 0, how: 'exit' }).then(() => null, (e: Error & { code: number }) => e);
        expect(err?.code, kind).to.equal(RpcErrorCode.BadInput);
        expect(err?.message, kind).to.match(/throw or terminate/);
      }
    } finally {
      c.close();
    }
    const t = (await show(sb)).threads;
    for (const kind of ['pmd', 'handler', 'revalidator'] as const) expect(t[kind], kind).to.include({ restarts: 0, alive: 1 });
  });

  it('every method answers junk params with an error reply and the daemon keeps serving', async () => {
    const fg = await startForeground(sb);
    const c = await RpcClient.connect(sb.socket, { timeoutMs: 20000 });
    try {
      await c.call('port/add', { name: 'p1', type: 'memory' });
      const { methods } = await c.call('list-commands');
      const junk: unknown[] = [
        { x: 1 }, { name: 7 }, { port: 'p1', frames: ['zz'] }, { flow: 'in_port(1),eth(' , actions: '2' }, { flow: '\u0000' },
        { ufid: 'ufid:' + 'f'.repeat(40) }, { match: 'in_port=99999999999' }, { packets: ['00'], inPort: 'p1' },
        { limit: -1 }, { after: -5, waitMs: 10 }, { secs: 0 }, { flows: [42] }, { flow: 'x'.repeat(70000) }, [1, 2], 'str',
      ];
      let replies = 0;
      for (const m of methods.map((x) => x.name)) {
        if (m === 'stop' || m === 'thread/crash') continue;
        for (const params of junk) {
          try {
            await c.call(m, params as never);
          } catch (err) {
            expect((err as Error).name, `${m} ${JSON.stringify(params).slice(0, 60)}`).to.equal('RpcRemoteError');
          }
          replies++;
        }
      }
      expect(replies).to.be.greaterThan(300);
      expect((await c.call('ping')).pid).to.equal(fg.proc.pid);
      expect((await c.call('show')).bridge.ports.map((p) => p.name)).to.deep.equal(['br0', 'p1']);
    } finally {
      c.close();
    }
    expect(fg.proc.exitCode).to.equal(null);
  });
});
