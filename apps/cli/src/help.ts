/**
 * The root help of `tsvs` (oclif helpClass): oclif's, plus a short introduction and examples of a
 * first session (oclif shows examples per command only).
 */
import { Help } from '@oclif/core';

const EXAMPLES: [string, string][] = [
  ['Start the daemon in the background', '$ tsvs start --detach --pmd-threads 1'],
  ['Two in-memory ports and a rule', '$ tsvs add-port p1 --type memory && tsvs add-port p2 --type memory\n$ tsvs add-flow "priority=10,in_port=1,actions=output:2"'],
  ['Send frames in and look at the result', '$ tsvs inject p1 --pcap capture.pcap --count 100\n$ tsvs dpctl dump-flows && tsvs dump-flows && tsvs pmd stats'],
  ['Ports of a real interface (root)', '$ tsvs add-port veth0 --type system'],
  ['Why does this packet go there?', '$ tsvs trace "in_port=1,tcp,nw_dst=10.0.0.2,tp_dst=80"'],
  ['Tune and watch', '$ tsvs set threads --pmd 2 --handlers 2 && tsvs set config max-idle=5000\n$ tsvs watch'],
  ['Stop it (flows flushed, ports closed, config saved)', '$ tsvs stop'],
];

export default class TsvsHelp extends Help {
  override formatRoot(): string {
    const intro = this.section(
      'DESCRIPTION',
      this.wrap('A userspace virtual switch in the Open vSwitch model: PMD threads and a shared megaflow table, handler and revalidator threads, OpenFlow rules in ovs-ofctl syntax. The daemon is controlled over a unix socket (--socket, $TSVS_SOCKET). Every command that shows data has --json. Errors are one line on stderr; exit status 2 means bad usage or input, 3 that the daemon could not be reached.'),
    );
    const examples = this.section('EXAMPLES', EXAMPLES.map(([what, cmd]) => `${what}\n${cmd.split('\n').map((l) => '  ' + l).join('\n')}`).join('\n\n'));
    return `${super.formatRoot()}\n\n${intro}\n\n${examples}`;
  }
}
