/**
 * The local port's type from the effective capabilities (`CapEff` in /proc/self/status, proc(5)):
 * CAP_NET_ADMIN is bit 12. Cases: root's full set, no capabilities, only CAP_NET_RAW (bit 13),
 * only CAP_NET_ADMIN, a missing line.
 */
import { expect } from 'chai';
import { chooseLocalPort, hasNetAdmin } from '../dist/switch/local-port.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('vswitchd local port: CAP_NET_ADMIN decides internal or memory', () => {
  it('reads bit 12 of CapEff', () => {
    expect(hasNetAdmin(status('000001ffffffffff'))).to.equal(true);
    expect(hasNetAdmin(status('0000000000000000'))).to.equal(false);
    expect(hasNetAdmin(status('0000000000002000'))).to.equal(false);
    expect(hasNetAdmin(status('0000000000001000'))).to.equal(true);
    expect(hasNetAdmin('Name:\tnode\n')).to.equal(false);
  });

  it('chooses internal with it, memory without, the forced type over both', () => {
    expect(chooseLocalPort(undefined, status('0000000000001000')).type).to.equal('internal');
    expect(chooseLocalPort(undefined, status('0000000000000000'))).to.deep.equal({ type: 'memory', reason: 'no CAP_NET_ADMIN: a memory port, no host interface' });
    expect(chooseLocalPort('memory', status('000001ffffffffff')).type).to.equal('memory');
  });
});
