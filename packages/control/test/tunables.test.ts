import { expect } from 'chai';
import { TUNABLE_NAMES, defaultTunables, parseTunableAssignments, resolveSocketPath, defaultSocketPath, defaultConfigPath } from '@tsvs/control';

describe('control/tunables', () => {
  it('has the OVS defaults, and pmd-rx-usecs and pmd-idle-nap-usecs', () => {
    expect(defaultTunables()).to.deep.equal({
      'max-idle': 10000,
      'flow-limit': 200000,
      'max-revalidator': 500,
      'min-revalidate-pps': 5,
      'emc-insert-inv-prob': 100,
      'mac-aging-time': 300,
      'mac-table-size': 2048,
      'pmd-rx-usecs': 80,
      'pmd-idle-nap-usecs': 20,
    });
    expect(TUNABLE_NAMES).to.have.length(9);
  });

  it('parses KEY=VALUE lists and names the first bad token', () => {
    expect(parseTunableAssignments(['max-idle=20000', 'emc-insert-inv-prob=0'])).to.deep.equal({ ok: true, patch: { 'max-idle': 20000, 'emc-insert-inv-prob': 0 } });
    const bad: [string[], RegExp][] = [
      [[], /no KEY=VALUE/],
      [['max-idle'], /"max-idle": expected KEY=VALUE/],
      [['=5'], /"=5": expected KEY=VALUE/],
      [['max-idle=20000', 'maxidle=1'], /"maxidle=1": unknown key "maxidle"/],
      [['max-idle=abc'], /"max-idle=abc": max-idle takes a non-negative integer/],
      [['max-idle=-1'], /non-negative integer/],
      [['max-idle=1.5'], /non-negative integer/],
      [['max-idle=499'], /"max-idle=499": max-idle must be at least 500 ms/],
      [['max-revalidator=99'], /at least 100 ms/],
      [['min-revalidate-pps=0'], /at least 1/],
      [['pmd-rx-usecs=1001'], /"pmd-rx-usecs=1001": pmd-rx-usecs must be at most 1000/],
      [['pmd-idle-nap-usecs=1001'], /"pmd-idle-nap-usecs=1001": pmd-idle-nap-usecs must be at most 1000/],
      [['emc-insert-inv-prob=4294967296'], /at most 4294967295/],
      [['__proto__=1'], /unknown key "__proto__"/],
    ];
    for (const [tokens, re] of bad) {
      const r = parseTunableAssignments(tokens);
      expect(r.ok, tokens.join(' ')).to.equal(false);
      if (!r.ok) expect(r.error).to.match(re);
    }
  });

  it('resolves the socket: flag, then TSVS_SOCKET, then the per-user default', () => {
    expect(resolveSocketPath('/a.sock', { TSVS_SOCKET: '/b.sock' })).to.equal('/a.sock');
    expect(resolveSocketPath(undefined, { TSVS_SOCKET: '/b.sock' })).to.equal('/b.sock');
    expect(defaultSocketPath({}, 0)).to.equal('/run/tsvs/tsvs.sock');
    expect(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).to.equal('/run/user/1000/tsvs/tsvs.sock');
    expect(defaultSocketPath({}, 1000)).to.equal('/tmp/tsvs-1000/tsvs.sock');
    expect(defaultConfigPath({}, 0)).to.equal('/var/lib/tsvs/config.json');
    expect(defaultConfigPath({ HOME: '/home/u' }, 1000)).to.equal('/home/u/.local/state/tsvs/config.json');
  });
});
