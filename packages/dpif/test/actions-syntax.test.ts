/**
 * Datapath actions: binary encoding and OVS ODP text syntax (parse, print, round trips, errors).
 * The strings OVS itself prints are checked in actions-golden.test.ts; here: the layout, every
 * field form, the error messages, and round-trip properties over random action lists.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeOdpActions, encodeOdpActions, formatOdpActionList, formatOdpActions, ODP_ACTIONS_MAX_BYTES, OdpActionParseError,
  parseOdpActionList, parseOdpActions, validateOdpActions, type OdpAction, type OdpSetKeyName,
} from '@tsvs/dpif';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('datapath actions: encoding', () => {
  it('lays out header and actions as documented', () => {
    const b = parseOdpActions('2,push_vlan(vid=10,pcp=0),pop_vlan,userspace(pid=7,userdata(0102)),3');
    expect(hex(b)).to.equal(
      '01' + '05' + '0023' + '0023' + // version, count, total length 35, live end 35
        '0106' + '00000002' + // output 2
        '0406' + '8100' + '100a' + // push_vlan tpid 0x8100, tci = CFI | vid 10
        '0502' + // pop_vlan
        '0209' + '00000007' + '01' + '0102' + // userspace pid 7, has userdata, 01 02
        '0106' + '00000003',
    );
    expect(validateOdpActions(b)).to.equal(null);
  });

  it('stores a set with a full mask as a plain set and a partial one with its mask, value masked', () => {
    expect(hex(parseOdpActions('set(tcp(src=1,dst=2))'))).to.equal('0101000d0006' + '0307' + '09' + '00010002');
    // value bits outside the mask are cleared (OVS: "the data must be zero for the unmasked bits")
    expect(hex(parseOdpActions('set(udp(dst=0x1234/0xff00))'))).to.equal('010100110006' + '0b0b' + '0a' + '00001200' + '0000ff00');
  });

  it('records the live end: actions after the last output/userspace do not count', () => {
    const b = parseOdpActions('set(ipv4(ttl=9)),2,pop_vlan');
    expect((b[4]! << 8) | b[5]!).to.equal(b.length - 2);
    expect((parseOdpActions('pop_vlan')[4]! << 8) | parseOdpActions('pop_vlan')[5]!).to.equal(6);
  });

  it('drop is the header alone', () => {
    expect(hex(parseOdpActions('drop'))).to.equal('010000060006');
    expect(formatOdpActions(parseOdpActions('drop'))).to.equal('drop');
    expect(formatOdpActions(parseOdpActions(''))).to.equal('drop');
  });

  it('refuses lists over 256 bytes with a one-line error', () => {
    const ok = Array.from({ length: 41 }, (_, i) => String(i + 1)).join(','); // 6 + 41 * 6 = 252
    expect(parseOdpActions(ok).length).to.equal(252);
    expect(() => parseOdpActions(ok + ',99')).to.throw(OdpActionParseError, /258 bytes encoded, at most 256/);
    expect(() => encodeOdpActions(Array.from({ length: 42 }, () => ({ type: 'output', port: 1 }) as OdpAction))).to.throw(RangeError);
  });

  it('validate finds malformed blobs; decode refuses them', () => {
    const b = parseOdpActions('2,3');
    const bad = b.slice();
    bad[7] = 9; // output length
    expect(validateOdpActions(bad)).to.match(/length/);
    expect(() => decodeOdpActions(bad)).to.throw(RangeError, /malformed action list/);
    const t = b.slice();
    t[6] = 99;
    expect(validateOdpActions(t)).to.match(/unknown action type 99/);
    expect(validateOdpActions(b.subarray(0, 8))).to.match(/length field/);
  });
});

describe('datapath actions: ODP syntax', () => {
  const same = [
    '2,push_vlan(vid=10,pcp=0),3',
    'set(ipv4(src=10.0.0.1,dst=10.0.0.2))',
    'userspace(pid=0,userdata(01020304))',
    'userspace(pid=4294967295)',
    'push_vlan(tpid=0x88a8,vid=4095,pcp=7)',
    'push_vlan(vid=1,pcp=0,cfi=0)',
    'pop_vlan,pop_vlan,1',
    'set(eth(src=00:11:22:33:44:55,dst=ff:ff:ff:ff:ff:ff))',
    'set(eth(dst=01:00:00:00:00:00/01:00:00:00:00:00))',
    'set(ipv4(tos=0x28/0xfc))',
    'set(ipv4(tos=0x3/0x3))',
    'set(ipv4(src=10.20.0.0/255.255.0.0,ttl=63))',
    'set(ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0,ttl=64,frag=no))',
    'set(ipv6(src=2001:db8::1))',
    'set(ipv6(dst=fe80::/ffff:ffff:ffff:ffff::))',
    'set(ipv6(label=0x12345,tclass=0x20/0xfc,hlimit=63))',
    'set(ipv6(src=::ffff:10.1.2.3,dst=::1))',
    'set(tcp(src=1,dst=2))',
    'set(tcp(dst=8080))',
    'set(udp(src=53/0xff))',
    'set(eth())',
  ];
  for (const s of same) {
    it(`prints back ${s}`, () => {
      expect(formatOdpActions(parseOdpActions(s))).to.equal(s);
    });
  }

  it('accepts what OVS accepts and prints it the OVS way', () => {
    const cases: [string, string][] = [
      ['push_vlan(vid=10,pcp=0,cfi=1)', 'push_vlan(vid=10,pcp=0)'],
      ['push_vlan(tpid=33024,vid=0x0a,pcp=0)', 'push_vlan(vid=10,pcp=0)'], // %i: decimal tpid 0x8100, hex vid
      ['1 2\t3\n', '1,2,3'],
      ['  DROP ', 'drop'],
      ['set(ipv4(ttl=010))', 'set(ipv4(ttl=8))'], // %i reads a leading 0 as octal
      ['set(ipv4(src=1.2.3.4/255.255.255.255))', 'set(ipv4(src=1.2.3.4))'],
      ['set(ipv4(dst=9.9.9.9,src=8.8.8.8))', 'set(ipv4(src=8.8.8.8,dst=9.9.9.9))'],
      ['set(ipv4(src=1.2.3.4,))', 'set(ipv4(src=1.2.3.4))'],
      ['set(ipv6(src=2001:DB8:0:0:0:0:0:1))', 'set(ipv6(src=2001:db8::1))'],
      ['set(ipv6(src=1:0:0:2:0:0:0:3))', 'set(ipv6(src=1:0:0:2::3))'],
      ['set(ipv6(src=1:0:2:3:4:5:6:7))', 'set(ipv6(src=1:0:2:3:4:5:6:7))'],
      ['set(eth(src=0:1:2:3:4:5))', 'set(eth(src=00:01:02:03:04:05))'],
      ['set(udp(src=0x10/0xffff))', 'set(udp(src=16))'],
    ];
    for (const [input, printed] of cases) expect(formatOdpActions(parseOdpActions(input)), input).to.equal(printed);
  });

  it('prints output ports by name when given names (dpctl --names / -m, names as they are), numbers otherwise', () => {
    const blob = parseOdpActions('1,push_vlan(vid=10,pcp=0),2,3');
    const portName = (p: number): string | undefined => ({ 1: 'p1', 2: 'sy9-1' } as Record<number, string>)[p];
    expect(formatOdpActions(blob, 0, blob.length, { portName })).to.equal('p1,push_vlan(vid=10,pcp=0),sy9-1,3');
    expect(formatOdpActions(blob)).to.equal('1,push_vlan(vid=10,pcp=0),2,3');
    expect(formatOdpActionList([], { portName })).to.equal('drop');
  });

  it('parses a verbose (plain) IPv6 set like OVS: the 20-bit label mask makes it a masked set, printed the same', () => {
    const s = 'set(ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=64,frag=no))';
    const b = parseOdpActions(s);
    expect(b[6]).to.equal(11); // OVS_ACTION_ATTR_SET_MASKED: IPV6_LABEL_MASK is not all ones
    expect(formatOdpActions(b)).to.equal(s);
  });

  const bad: [string, RegExp][] = [
    ['foo(1)', /^bad datapath action "foo\(1\)" at column 1: unknown or unsupported action$/],
    ['2,bar,3', /"bar" at column 3/],
    ['1,drop', /"drop" at column 3: "drop" must be the whole action list/],
    ['2x', /"2x" at column 1: unexpected text/],
    ['4294967296', /output port out of range/],
    ['-1', /output port out of range/],
    ['set(vlan(vid=1))', /"vlan\(vid=1\)" at column 5: unsupported set key/],
    ['set(ipv4(src=1.2.3))', /"src=1.2.3" at column 10: bad value for src/],
    ['set(ipv4(src=1.2.3.4/255))', /bad mask for src/],
    ['set(ipv4(foo=1))', /"foo=1" at column 10: unknown field in ipv4/],
    ['set(ipv4(ttl=256))', /ttl out of range: 256/],
    ['set(ipv4(frag=maybe))', /bad value for frag/],
    ['set(ipv6(label=0x100000))', /label out of range/],
    ['set(ipv6(src=1::2::3))', /bad value for src/],
    ['set(tcp(src=70000))', /src out of range/],
    ['set(eth(src=00:11:22:33:44))', /bad value for src/],
    ['set(tcp(src=1)', /missing "\)"|expected "\)"/],
    ['push_vlan(vid=4096,pcp=0)', /vid out of range: 4096/],
    ['push_vlan(vid=1,pcp=8)', /pcp out of range: 8/],
    ['push_vlan(pcp=1)', /expected vid=/],
    ['userspace(pid=1,userdata(123))', /even number of hex digits/],
    ['userspace(pid=1,slow_path(match))', /unsupported userspace argument/],
    ['userspace(1)', /expected pid=/],
  ];
  for (const [s, re] of bad) {
    it(`refuses ${s} with a one-line message naming the token`, () => {
      let err: unknown;
      try {
        parseOdpActions(s);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OdpActionParseError);
      const msg = (err as Error).message;
      expect(msg).to.match(re);
      expect(msg).to.not.include('\n');
    });
  }
});

// ------------------------------------------------------------------ properties

const KEY_SIZE: Record<OdpSetKeyName, number> = { eth: 12, ipv4: 12, ipv6: 40, tcp: 4, udp: 4 };

/** Random set actions in the canonical form the printer can express (see format.ts). */
function arbSet(key: OdpSetKeyName, plain: boolean): fc.Arbitrary<OdpAction> {
  const k = KEY_SIZE[key];
  return fc
    .tuple(fc.uint8Array({ minLength: k, maxLength: k }), fc.uint8Array({ minLength: k, maxLength: k }), fc.integer({ min: 0, max: 2 }), fc.boolean())
    .map(([value, rawMask, frag, fragOn]) => {
      const mask = plain ? new Uint8Array(k).fill(0xff) : rawMask;
      const fragAt = key === 'ipv4' ? 11 : key === 'ipv6' ? 39 : -1;
      if (fragAt >= 0) {
        // frag is an enumeration: mask 0 or 0xff, value no/first/later
        mask[fragAt] = plain || fragOn ? 0xff : 0;
        value[fragAt] = frag;
      }
      if (key === 'ipv6') {
        // the label is 20 bits; a masked set's label mask too
        value[32] = 0;
        value[33]! &= 0x0f;
        if (!plain) {
          mask[32] = 0;
          mask[33]! &= 0x0f;
        }
      }
      const v = value.map((b, i) => b & mask[i]!);
      return { type: 'set', key, value: v, mask } as OdpAction;
    });
}

const arbAction: fc.Arbitrary<OdpAction> = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((port) => ({ type: 'output', port }) as OdpAction),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }))
    .map(([pid, userdata]) => ({ type: 'userspace', pid, userdata }) as OdpAction),
  fc
    .tuple(fc.oneof(fc.constant(0x8100), fc.constant(0x88a8), fc.integer({ min: 0, max: 0xffff })), fc.integer({ min: 0, max: 0xffff }))
    .map(([tpid, tci]) => ({ type: 'push_vlan', tpid, tci }) as OdpAction),
  fc.constant({ type: 'pop_vlan' } as OdpAction),
  fc.constantFrom<OdpSetKeyName>('eth', 'ipv4', 'ipv6', 'tcp', 'udp').chain((key) => fc.boolean().chain((plain) => arbSet(key, plain))),
);

const isPlainIpv6 = (a: OdpAction): boolean => a.type === 'set' && a.key === 'ipv6' && a.mask.every((m) => m === 0xff);

/** Fits in 256 bytes, also once plain IPv6 sets have been read back as masked ones (40 bytes more each). */
function fits(list: OdpAction[]): boolean {
  try {
    return encodeOdpActions(list).length + 40 * list.filter(isPlainIpv6).length <= ODP_ACTIONS_MAX_BYTES;
  } catch {
    return false;
  }
}

describe('datapath actions: round-trip properties', () => {
  it('print(parse(print(x))) = print(x) for random action lists', () => {
    fc.assert(
      fc.property(fc.array(arbAction, { maxLength: 10 }).filter(fits), (list) => {
        const text = formatOdpActionList(list);
        expect(formatOdpActions(parseOdpActions(text))).to.equal(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('parse(print(x)) gives the same bytes as encode(x) (except plain IPv6 sets, which OVS reads back as masked)', () => {
    fc.assert(
      fc.property(fc.array(arbAction, { maxLength: 10 }).filter((l) => fits(l) && !l.some(isPlainIpv6)), (list) => {
        const blob = encodeOdpActions(list);
        expect(validateOdpActions(blob)).to.equal(null);
        expect(hex(parseOdpActions(formatOdpActions(blob)))).to.equal(hex(blob));
        expect(hex(encodeOdpActions(decodeOdpActions(blob)))).to.equal(hex(blob));
      }),
      { numRuns: 2000 },
    );
  });

  it('parseOdpActionList and the blob agree', () => {
    fc.assert(
      fc.property(fc.array(arbAction, { maxLength: 6 }).filter((l) => fits(l) && !l.some(isPlainIpv6)), (list) => {
        const text = formatOdpActionList(list);
        expect(formatOdpActionList(parseOdpActionList(text))).to.equal(text);
      }),
      { numRuns: 500 },
    );
  });

  it('random text never escapes as anything but OdpActionParseError', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefx(),=/:. set(ipv4(src=udp(tcp(eth(push_vlan(pop_vlanuserspace(pid=userdata('.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')), (s) => {
        try {
          const b = parseOdpActions(s);
          expect(validateOdpActions(b)).to.equal(null);
        } catch (e) {
          expect(e).to.be.instanceOf(OdpActionParseError);
          expect((e as Error).message).to.not.include('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
