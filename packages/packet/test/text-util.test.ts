import { expect } from 'chai';
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import {
  parseUintText, parseScnI, parseIp4, parseIp4Masked, parseIp6, parseIp6Masked, parseEth, parseEthMasked,
  parseTcpFlagsText, formatIp6, FlowParseError,
} from '@tsvs/packet';

describe('text-util: value scanners', () => {
  it('parseUintText reads hex, octal and decimal like OVS parse_int_string, within the field width', () => {
    expect(parseUintText('80', 2)).to.equal(80);
    expect(parseUintText('0x50', 2)).to.equal(80);
    expect(parseUintText('0X0000000050', 2)).to.equal(80); // leading zeros do not count
    expect(parseUintText('010', 2)).to.equal(8); // strtoull base 0: octal
    expect(parseUintText('0', 1)).to.equal(0);
    expect(parseUintText('65535', 2)).to.equal(65535);
    expect(parseUintText('4294967295', 4)).to.equal(0xffffffff);
    for (const bad of ['65536', '0x10000', '-1', '+1', '', '08', '1.0', '0x', ' 1', 'eighty']) {
      expect(parseUintText(bad, 2), bad).to.equal(undefined);
    }
    expect(parseUintText('4294967296', 4)).to.equal(undefined);
    expect(parseScnI('255', 8)).to.equal(255);
    expect(parseScnI('256', 8)).to.equal(undefined);
    expect(parseScnI('0xfffff', 20)).to.equal(0xfffff);
  });

  it('parseIp4 / parseIp4Masked: dotted quads, /N prefixes and dotted masks; 10.0.0.300 is an error', () => {
    expect(parseIp4('10.0.0.1')).to.equal(0x0a000001);
    expect(parseIp4('010.0.0.1')).to.equal(0x0a000001); // OVS scans each octet with %hhu
    expect(parseIp4('10.0.0.300')).to.equal(undefined);
    expect(parseIp4('10.0.0')).to.equal(undefined);
    expect(parseIp4Masked('10.0.0.0/24')).to.deep.equal([0x0a000000, 0xffffff00]);
    expect(parseIp4Masked('10.0.0.0/0')).to.deep.equal([0x0a000000, 0]);
    expect(parseIp4Masked('10.0.0.1/32')).to.deep.equal([0x0a000001, 0xffffffff]);
    expect(parseIp4Masked('10.0.0.1/255.0.255.0')).to.deep.equal([0x0a000001, 0xff00ff00]);
    expect(parseIp4Masked('10.0.0.0/33')).to.equal(undefined);
    expect(parseIp4Masked('10.0.0.0/')).to.equal(undefined);
  });

  it('parseIp6 accepts exactly what inet_pton(AF_INET6) accepts (node:net isIPv6 as the oracle)', () => {
    const out = new Uint32Array(4);
    const alphabet = [...'0123456789abcdefABCDEF:.', '::', '1.2.3.4', 'ffff', '0'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 20 }).map((a) => a.join('')), (s) => {
      expect(parseIp6(s, out, 0), s).to.equal(isIPv6(s));
    }), { numRuns: 20000 });
  });

  it('parseIp6 reads back every address formatIp6 prints', () => {
    const out = new Uint32Array(4);
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(fc.property(fc.tuple(word, word, word, word), (w) => {
      const s = formatIp6(w[0], w[1], w[2], w[3]);
      expect(parseIp6(s, out, 0), s).to.equal(true);
      expect([...out], s).to.deep.equal(w.map((x) => x >>> 0));
    }));
  });

  it('parseIp6Masked: /N prefix or an address mask', () => {
    const a = new Uint32Array(4);
    const m = new Uint32Array(4);
    expect(parseIp6Masked('2001:db8::1/64', a, 0, m, 0)).to.equal(true);
    expect([...a]).to.deep.equal([0x20010db8, 0, 0, 1]);
    expect([...m]).to.deep.equal([0xffffffff, 0xffffffff, 0, 0]);
    expect(parseIp6Masked('::/ffff::1', a, 0, m, 0)).to.equal(true);
    expect([...m]).to.deep.equal([0xffff0000, 0, 0, 1]);
    expect(parseIp6Masked('::1/129', a, 0, m, 0)).to.equal(false);
    expect(parseIp6Masked('::1/', a, 0, m, 0)).to.equal(false);
  });

  it('parseEth / parseEthMasked: 1-2 hex digits per byte, optional /mask', () => {
    expect(parseEth('00:11:22:33:44:55')).to.deep.equal([0x0011, 0x22334455]);
    expect(parseEth('0:1:2:3:4:5')).to.deep.equal([0x0001, 0x02030405]);
    expect(parseEth('AA:bb:CC:dd:EE:ff')).to.deep.equal([0xaabb, 0xccddeeff]);
    for (const bad of ['001:11:22:33:44:55', '00-11-22-33-44-55', '00:11:22:33:44', '00:11:22:33:44:55:66', '']) {
      expect(parseEth(bad), bad).to.equal(undefined);
    }
    expect(parseEthMasked('01:00:00:00:00:00/01:00:00:00:00:00')).to.deep.equal([0x0100, 0, 0x0100, 0]);
  });

  it('parseTcpFlagsText: names, +/- masked form, numeric N/M', () => {
    expect(parseTcpFlagsText('syn|ack', 0xffff)).to.deep.equal([0x012, 0xffff]);
    expect(parseTcpFlagsText('0x12', 0xffff)).to.deep.equal([0x012, 0xffff]);
    expect(parseTcpFlagsText('+syn-ack', 0xffff)).to.deep.equal([0x002, 0x012]);
    expect(parseTcpFlagsText('0x12/0xfff', 0xffff)).to.deep.equal([0x012, 0xfff]);
    expect(parseTcpFlagsText('+[800]', 0xffff)).to.deep.equal([0x800, 0x800]);
    expect(parseTcpFlagsText('+syn-syn', 0xffff)).to.be.a('string');
    expect(parseTcpFlagsText('0x1000', 0xffff)).to.be.a('string');
    expect(parseTcpFlagsText('+foo', 0xffff)).to.be.a('string');
    expect(parseTcpFlagsText('syn+ack', 0xffff)).to.be.a('string');
  });

  it('FlowParseError carries the bad token', () => {
    const e = new FlowParseError('bad value "x" for y', 'x');
    expect(e).to.be.instanceOf(Error);
    expect(e.name).to.equal('FlowParseError');
    expect(e.token).to.equal('x');
  });
});
