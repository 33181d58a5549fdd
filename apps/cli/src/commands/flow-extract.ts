import { Args, Command, Flags } from '@oclif/core';
import { CaptureError, LINKTYPE_ETHERNET, linktypeName, readCapture, type CaptureFile } from '@tsvs/capture';
import {
  EXTRACT_OK, FLOW_WORDS, extractFlow, extractStatusText, flowToJson, formatFlow, formatOdpKey,
} from '@tsvs/packet';

/**
 * `tsvs flow-extract FILE`: the flow key Open vSwitch would extract from every frame of a capture.
 *
 * Output (stdout): exactly one line per record, in file order.
 * - ofctl (default): the text `ovs-appctl ofproto/trace BR in_port=N <frame hex>` prints after
 *   `Flow: ` (OVS 3.1 flow_format) on a bridge with default configuration.
 * - odp: the key in ODP syntax (`dpctl/dump-flows` style, exact match).
 * - json: one JSON object per line with OVS field names (see @tsvs/packet flowToJson).
 * A record that is not Ethernet or shorter than an Ethernet header prints `! <reason>`.
 *
 * Exit status: 0; 2 with one line on stderr when the file cannot be read at all, has no Ethernet
 * link type, or is damaged (then after the lines of the frames read before the damage; the stderr
 * line says how many were read).
 */
export default class FlowExtract extends Command {
  static override description = 'Print the flow key OVS would extract from each frame of a pcap/pcapng capture.';
  static override examples = [
    '<%= config.bin %> flow-extract ../shared/pcaps/arp.pcap',
    '<%= config.bin %> flow-extract capture.pcapng --in-port 3 --format json',
  ];
  static override args = {
    file: Args.string({ description: 'pcap or pcapng capture file', required: true }),
  };
  static override flags = {
    'in-port': Flags.integer({ description: 'OpenFlow in_port of the frames', default: 1, min: 0, max: 0xffffffff }),
    format: Flags.string({ description: 'output format', options: ['ofctl', 'odp', 'json'], default: 'ofctl' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FlowExtract);
    let cap: CaptureFile;
    try {
      cap = readCapture(args.file);
    } catch (e) {
      return this.fail(e instanceof CaptureError ? e.message : `${args.file}: ${(e as Error).message}`);
    }
    const linktypes = cap.count > 0 ? cap.linktypes : cap.interfaces.map((i) => i.linktype);
    if (linktypes.length > 0 && !linktypes.includes(LINKTYPE_ETHERNET)) {
      const names = [...new Set(linktypes)].map((l) => `${l} (${linktypeName(l)})`).join(', ');
      return this.fail(`${args.file}: link type ${names} is not Ethernet; nothing to extract`);
    }

    const inPort = flags['in-port'];
    const format = flags.format;
    const key = new Uint32Array(FLOW_WORDS);
    const idx = cap.index;
    const bytes = cap.bytes;
    let out: string[] = [];
    for (let i = 0; i < cap.count; i++) {
      const lt = idx.linktype[i]!;
      let line: string;
      if (lt !== LINKTYPE_ETHERNET) {
        line = `! link type ${lt} (${linktypeName(lt)}) is not Ethernet`;
      } else {
        const status = extractFlow(bytes, idx.offset[i]!, idx.caplen[i]!, inPort, key, 0);
        if (status !== EXTRACT_OK) line = `! ${extractStatusText(status)}: ${idx.caplen[i]} bytes`;
        else if (format === 'odp') line = formatOdpKey(key, 0);
        else if (format === 'json') line = JSON.stringify(flowToJson(key, 0));
        else line = formatFlow(key, 0);
      }
      out.push(line);
      if (out.length === 4096) {
        process.stdout.write(out.join('\n') + '\n');
        out = [];
      }
    }
    if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
    if (cap.error !== null) this.fail(cap.error.message);
  }

  /** One line on stderr, exit status 2 (oclif's error() would add decoration and a stack hint). */
  private fail(message: string): void {
    process.stderr.write(`tsvs flow-extract: ${message}\n`);
    process.exitCode = 2;
  }
}
