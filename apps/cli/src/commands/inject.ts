import { Args, Flags } from '@oclif/core';
import { RpcClient } from '@tsvs/control';
import { DataCommand, UsageError } from '../base-command.js';
import { parseHexFrame, readPcapFrames, toHex } from '../frames.js';

/** Request lines stay well under the daemon's 1 MiB limit. */
const MAX_REQUEST_HEX = 512 * 1024;

export default class Inject extends DataCommand {
  static override description = `Receive frames on a memory port as if they came from the wire (OVS netdev-dummy/receive).

The frames (--packet, repeatable, or every Ethernet frame of --pcap) are received in order, --count times over. The daemon paces them to the PMD polling the port, so large counts are not dropped by a full queue; frames that could not be queued are reported as dropped.`;

  static override examples = [
    '<%= config.bin %> inject p1 --packet ffffffffffff0000000000010806000108000604000100000000000a0a000001000000000000000a000002',
    { description: 'A capture, 100 times over', command: '<%= config.bin %> inject p1 --pcap ../shared/pcaps/icmp.pcap --count 100' },
    { description: 'Into the second rxq of a port with n_rxq=2', command: '<%= config.bin %> inject p1 --pcap flows.pcap --rxq 1' },
  ];

  static override args = {
    port: Args.string({ description: 'memory port name', required: true }),
  };

  static override flags = {
    packet: Flags.string({ description: 'Ethernet frame in hex (repeatable)', multiple: true, helpValue: 'HEX', exclusive: ['pcap'] }),
    pcap: Flags.string({ description: 'pcap or pcapng file whose Ethernet frames are received', helpValue: 'FILE', exclusive: ['packet'] }),
    count: Flags.integer({ description: 'times the frames are received', min: 1, max: 100_000_000, default: 1, helpValue: 'N' }),
    rxq: Flags.integer({ description: 'receive queue', min: 0, max: 63, default: 0, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Inject);
    let frames: Uint8Array[];
    if (flags.packet && flags.packet.length > 0) frames = flags.packet.map((p) => parseHexFrame(p));
    else if (flags.pcap) frames = readPcapFrames(flags.pcap).frames;
    else throw new UsageError('give --packet HEX or --pcap FILE');
    const hex = frames.map(toHex);
    // Split into requests under the size limit; with --count, each request carries its frames
    // `count` times over only when everything fits in one request (else the list is resent).
    const chunks: string[][] = [];
    let cur: string[] = [];
    let size = 0;
    for (const h of hex) {
      if (size + h.length > MAX_REQUEST_HEX && cur.length > 0) {
        chunks.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(h);
      size += h.length + 3;
    }
    chunks.push(cur);
    const client = await RpcClient.connect(this.socketPath(flags.socket), { timeoutMs: 600_000 });
    let queued = 0;
    let dropped = 0;
    try {
      const rounds = chunks.length === 1 ? 1 : flags.count;
      const count = chunks.length === 1 ? flags.count : 1;
      for (let r = 0; r < rounds; r++) {
        for (const c of chunks) {
          const res = await client.call('netdev/inject', { port: args.port, frames: c, count, rxq: flags.rxq });
          queued += res.queued;
          dropped += res.dropped;
        }
      }
    } finally {
      client.close();
    }
    const result = { port: args.port, frames: frames.length, count: flags.count, queued, dropped };
    if (flags.json) this.printJson(result);
    else this.log(`${args.port}: ${queued} frames received${dropped ? `, ${dropped} dropped` : ''}`);
  }
}
