import { Args, Flags } from '@oclif/core';
import { OFPORT_MAX, PORT_TYPE_NAMES, VLAN_MODES, type PortTypeName, type VlanModeName } from '@tsvs/control';
import { DataCommand, UsageError } from '../base-command.js';

export default class AddPort extends DataCommand {
  static override description = `Add a port to the bridge (ovs-vsctl add-port); it is saved in the config and reopened at every start.

Types (packages/netdev):
  memory     in-process queues, like OVS's dummy ports: frames come in with \`tsvs inject\`; options n_rxq, n_txq, rxq_size, txq_size, tx_pcap=FILE (write transmitted frames), gen_pcap/gen (traffic generator)
  pcap-file  replays rx_pcap=FILE (pace=fast|recorded, loop=N) and writes transmitted frames to tx_pcap=FILE
  system     a Linux interface through AF_PACKET (needs root or CAP_NET_RAW); option n_rxq
  internal   a TAP interface named after the port (needs root or CAP_NET_ADMIN)
VLAN settings (--tag, --trunks, --vlan-mode) are OVS's Port columns; NORMAL switching follows them.
The OpenFlow port number is --ofport or the lowest free one; the datapath (odp) port number is chosen by the datapath. A duplicate name or ofport, an unknown type or a bad option changes nothing (exit 2).`;

  static override examples = [
    '<%= config.bin %> add-port p1 --type memory',
    '<%= config.bin %> add-port p2 --type memory --ofport 10 --option n_rxq=2 --option tx_pcap=/tmp/p2.pcap',
    '<%= config.bin %> add-port veth0 --type system',
    { description: 'An access port of VLAN 10 and a trunk of VLANs 10 and 20', command: '<%= config.bin %> add-port veth1 --type system --tag 10 && <%= config.bin %> add-port veth2 --type system --trunks 10,20' },
    '<%= config.bin %> add-port replay --type pcap-file --option rx_pcap=capture.pcap --option pace=recorded',
  ];

  static override args = {
    name: Args.string({ description: 'port name (1 to 15 characters of A-Z a-z 0-9 _ . -)', required: true }),
  };

  static override flags = {
    type: Flags.option({ options: PORT_TYPE_NAMES, required: true, description: 'port type' })(),
    ofport: Flags.integer({ description: 'OpenFlow port number', min: 1, max: OFPORT_MAX, helpValue: 'N' }),
    option: Flags.string({ description: 'provider option KEY=VALUE (repeatable)', multiple: true, helpValue: 'KEY=VALUE' }),
    tag: Flags.integer({ description: 'VLAN: access VLAN (or the native VLAN with --vlan-mode native-*)', min: 0, max: 4095, helpValue: 'VID' }),
    trunks: Flags.string({ description: 'VLAN: VLANs a trunk port carries, comma-separated (default: all)', helpValue: 'VID,...' }),
    'vlan-mode': Flags.option({ options: VLAN_MODES, description: 'VLAN mode (default: access with --tag, else trunk)' })(),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AddPort);
    const options: Record<string, string> = {};
    for (const o of flags.option ?? []) {
      const eq = o.indexOf('=');
      if (eq <= 0) throw new UsageError(`--option "${o}": expected KEY=VALUE`);
      const k = o.slice(0, eq);
      if (Object.hasOwn(options, k)) throw new UsageError(`--option ${k} given twice`);
      options[k] = o.slice(eq + 1);
    }
    let trunks: number[] | undefined;
    if (flags.trunks !== undefined) {
      trunks = flags.trunks.split(',').filter((t) => t.trim() !== '').map((t) => {
        if (!/^\d+$/.test(t.trim()) || Number(t) > 4095) throw new UsageError(`--trunks "${flags.trunks}": "${t}" is not a VLAN id (0..4095)`);
        return Number(t);
      });
    }
    const r = await this.rpc(this.socketPath(flags.socket), 'port/add', {
      name: args.name,
      type: flags.type as PortTypeName,
      ...(flags.ofport !== undefined ? { ofport: flags.ofport } : {}),
      ...(Object.keys(options).length > 0 ? { options } : {}),
      ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
      ...(trunks !== undefined ? { trunks } : {}),
      ...(flags['vlan-mode'] !== undefined ? { vlan_mode: flags['vlan-mode'] as VlanModeName } : {}),
    });
    if (flags.json) this.printJson(r);
    else {
      const vlan = [r.vlan_mode && `vlan_mode ${r.vlan_mode}`, r.tag !== undefined && `tag ${r.tag}`, r.trunks && `trunks ${r.trunks.join(',')}`].filter(Boolean);
      this.log(`added port ${r.name}: type ${r.type}, ofport ${r.ofport}, odp port ${r.odpPort}${vlan.length ? `, ${vlan.join(', ')}` : ''}`);
    }
  }
}
