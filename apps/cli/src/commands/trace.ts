import { Args, Flags } from '@oclif/core';
import { DataCommand, UsageError } from '../base-command.js';
import { parseHexFrame, readPcapFrames, toHex } from '../frames.js';

export default class Trace extends DataCommand {
  static override description = `Show how the switch handles a flow or packets (ovs-appctl ofproto/trace): the rules matched table by table with their actions, then Flow:, Megaflow: and Datapath actions: in OVS's format.

A FLOW in ovs-ofctl syntax is traced without side effects. --packet HEX or every frame of --pcap FILE (with --in-port) is traced as received, in order, one block per frame: NORMAL learns from them as it would from real traffic. --names prints port names instead of odp port numbers in the datapath actions.`;

  static override examples = [
    "<%= config.bin %> trace 'in_port=1,dl_dst=00:00:00:00:00:02'",
    "<%= config.bin %> trace 'in_port=1,tcp,nw_dst=10.0.0.2,tp_dst=80' --names",
    '<%= config.bin %> trace --in-port 1 --packet 00000000000200000000000108004500001c0001000040110000c0a80001c0a800020001000200080000',
    '<%= config.bin %> trace --in-port p1 --pcap ../shared/pcaps/arp.pcap',
  ];

  static override args = {
    flow: Args.string({ description: 'flow, ovs-ofctl syntax (in_port=N,...)' }),
  };

  static override flags = {
    packet: Flags.string({ description: 'Ethernet frame in hex', helpValue: 'HEX', exclusive: ['pcap'] }),
    pcap: Flags.string({ description: 'trace every Ethernet frame of this capture', helpValue: 'FILE', exclusive: ['packet'] }),
    'in-port': Flags.string({ description: 'input port (number or name) of --packet/--pcap frames', helpValue: 'N' }),
    names: Flags.boolean({ description: 'port names in the datapath actions' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Trace);
    const socket = this.socketPath(flags.socket);
    let params;
    if (args.flow !== undefined) {
      if (flags.packet || flags.pcap) throw new UsageError('give a FLOW or --packet/--pcap, not both');
      params = { flow: args.flow, names: flags.names };
    } else {
      let frames: Uint8Array[];
      if (flags.packet) frames = [parseHexFrame(flags.packet)];
      else if (flags.pcap) frames = readPcapFrames(flags.pcap).frames;
      else throw new UsageError('give a FLOW, --packet HEX or --pcap FILE');
      if (flags['in-port'] === undefined) throw new UsageError('--packet and --pcap need --in-port');
      params = { packets: frames.map(toHex), inPort: flags['in-port'], names: flags.names };
    }
    const r = await this.rpc(socket, 'ofproto/trace', params, 120_000);
    if (flags.json) this.printJson(r.traces);
    else process.stdout.write(r.traces.map((t) => (t.text.endsWith('\n') ? t.text : t.text + '\n')).join('\n'));
  }
}
