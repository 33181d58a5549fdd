import { Args } from '@oclif/core';
import { DataCommand } from '../../base-command.js';

export default class DpctlAddFlow extends DataCommand {
  static override description = `Add a datapath flow (ovs-appctl dpctl/add-flow FLOW ACTIONS).

FLOW is a match in ODP key syntax as dump-flows prints it (a field without /mask is exact, a missing one wildcarded; in_port must be given, by number or name); ACTIONS are datapath actions (\`2,3\`, \`push_vlan(vid=10,pcp=0),2\`, \`set(ipv4(ttl=63)),2\`, \`drop\`). An overlapping or existing flow is refused (exit 2). Flows added here are not tied to OpenFlow rules: once revalidators run, they re-translate such flows like any other.`;

  static override examples = [
    "<%= config.bin %> dpctl add-flow 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)' 2",
    "<%= config.bin %> dpctl add-flow 'in_port(p1),eth(dst=00:00:00:00:00:02)' 'push_vlan(vid=10,pcp=0),2'",
  ];

  static override args = {
    flow: Args.string({ description: 'match, ODP key syntax', required: true }),
    actions: Args.string({ description: 'datapath actions', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DpctlAddFlow);
    const r = await this.rpc(this.socketPath(flags.socket), 'dpctl/add-flow', { flow: args.flow, actions: args.actions });
    if (flags.json) this.printJson(r);
    else this.log(r.ufid);
  }
}
