/**
 * The bridge port model (src/bridge): OpenFlow <-> odp numbers and names, OVS's VLAN mode
 * defaults and trunk sets (vswitchd/bridge.c port_configure, ofproto-dpif.c bundle_set), refusal
 * of inconsistent configurations, immutable snapshots.
 */
import { expect } from 'chai';
import { BridgePorts, BridgePort, localPortConfig, parseVlanList, OFPP_LOCAL } from '@tsvs/ofproto';

describe('bridge ports', () => {
  it('maps OpenFlow ports, odp ports and names both ways', () => {
    const b = new BridgePorts({ name: 'br0', ports: [localPortConfig('br0', 1), { name: 'eth0', ofport: 5, odpPort: 7 }] });
    expect(b.ofportToOdp(5)).to.equal(7);
    expect(b.odpToOfport(1)).to.equal(OFPP_LOCAL);
    expect(b.ofportToOdp(6)).to.equal(-1);
    expect(b.named('eth0')!.ofport).to.equal(5);
    expect(b.portMap.byName.get('br0')).to.equal(OFPP_LOCAL);
    expect([...b.odpNames()]).to.deep.equal([[1, 'br0'], [7, 'eth0']]);
  });

  it('VLAN modes as OVS: tag => access, no tag => trunk of all VLANs, trunks restrict', () => {
    const access = new BridgePort({ name: 'a', ofport: 1, odpPort: 1, tag: 10, trunks: [20] });
    expect(access.vlanMode).to.equal('access');
    expect(access.includesVlan(10, 0)).to.equal(true);
    expect(access.includesVlan(10, 5)).to.equal(false);
    expect(access.trunksVlan(10)).to.equal(false);
    const all = new BridgePort({ name: 't', ofport: 2, odpPort: 2 });
    expect(all.vlanMode).to.equal('trunk');
    expect(all.vlan).to.equal(-1);
    expect([0, 1, 4095].every((v) => all.trunksVlan(v))).to.equal(true);
    const some = new BridgePort({ name: 's', ofport: 3, odpPort: 3, trunks: [10, 20] });
    expect([some.trunksVlan(0), some.trunksVlan(10), some.trunksVlan(30)]).to.deep.equal([false, true, false]);
  });

  it('native modes trunk their native VLAN and never VLAN 0 (OVS bundle_set)', () => {
    const n = new BridgePort({ name: 'n', ofport: 1, odpPort: 1, vlanMode: 'native-untagged', tag: 10, trunks: [0, 20] });
    expect([n.trunksVlan(0), n.trunksVlan(10), n.trunksVlan(20), n.trunksVlan(30)]).to.deep.equal([false, true, true, false]);
    const t = new BridgePort({ name: 'm', ofport: 2, odpPort: 2, vlanMode: 'native-tagged', tag: 20 });
    expect([t.trunksVlan(0), t.trunksVlan(20), t.trunksVlan(999)]).to.deep.equal([false, true, true]);
    const z = new BridgePort({ name: 'z', ofport: 3, odpPort: 3, vlanMode: 'native-tagged' });
    expect([z.vlan, z.trunksVlan(0), z.trunksVlan(7)]).to.deep.equal([0, true, true]);
  });

  it('refuses duplicates and bad values with a message naming them', () => {
    expect(() => new BridgePorts({ name: 'b', ports: [{ name: 'x', ofport: 1, odpPort: 1 }, { name: 'x', ofport: 2, odpPort: 2 }] })).to.throw('duplicate port name "x"');
    expect(() => new BridgePorts({ name: 'b', ports: [{ name: 'x', ofport: 1, odpPort: 1 }, { name: 'y', ofport: 1, odpPort: 2 }] })).to.throw('OpenFlow port 1 already used by "x"');
    expect(() => new BridgePorts({ name: 'b', ports: [{ name: 'x', ofport: 1, odpPort: 1 }, { name: 'y', ofport: 2, odpPort: 1 }] })).to.throw('odp port 1 already used');
    expect(() => new BridgePort({ name: 'x', ofport: 0xff00, odpPort: 1 })).to.throw('bad ofport 65280');
    expect(() => new BridgePort({ name: 'x', ofport: 1, odpPort: 1, tag: 4096 })).to.throw('bad tag 4096');
    expect(() => new BridgePort({ name: 'a b', ofport: 1, odpPort: 1 })).to.throw('bad port name');
  });

  it('parses trunk lists as ovs-vsctl (plus ranges)', () => {
    expect(parseVlanList('10,20')).to.deep.equal([10, 20]);
    expect(parseVlanList('[1, 3-5]')).to.deep.equal([1, 3, 4, 5]);
    expect(parseVlanList('')).to.deep.equal([]);
    expect(() => parseVlanList('10,4096')).to.throw('bad VLAN "4096"');
    expect(() => parseVlanList('5-2')).to.throw('bad VLAN "5-2"');
  });

  it('port changes make new snapshots; the old one is unchanged', () => {
    const a = new BridgePorts({ name: 'br0', ports: [{ name: 'p1', ofport: 1, odpPort: 2 }] });
    const b = a.withPort({ name: 'p2', ofport: 2, odpPort: 3, tag: 5 });
    const c = b.withPort({ name: 'p1', ofport: 1, odpPort: 2, tag: 7 });
    expect(a.list.map((p) => p.name)).to.deep.equal(['p1']);
    expect(c.list.map((p) => `${p.name}:${p.vlan}`)).to.deep.equal(['p1:7', 'p2:5']);
    expect(c.withoutPort('p1').list.map((p) => p.name)).to.deep.equal(['p2']);
  });
});
