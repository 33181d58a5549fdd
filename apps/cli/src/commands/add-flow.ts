import { Args } from '@oclif/core';
import { DataCommand } from '../base-command.js';

export default class AddFlow extends DataCommand {
  static override description = `Add an OpenFlow rule (ovs-ofctl add-flow), in ovs-ofctl syntax: [table=N,][priority=P,][cookie=C,][idle_timeout=S,][hard_timeout=S,]MATCH,actions=ACTIONS.

Matches use OVS's field names (in_port, dl_src, dl_dst, dl_vlan, dl_type, nw_src, nw_dst, nw_proto, tp_src, tp_dst, ip, tcp, udp, arp, icmp, ...; ports by number or name). Actions: output:N, NORMAL, FLOOD, ALL, IN_PORT, LOCAL, CONTROLLER, drop, mod_vlan_vid, mod_vlan_pcp, strip_vlan, push_vlan, pop_vlan, mod_dl_src/dst, mod_nw_src/dst/tos, mod_tp_src/dst, set_field:V->F, dec_ttl, resubmit, goto_table, note. A rule with the same table, match and priority replaces the old one. The rules are saved in the config. Bad syntax is refused with the token at fault (exit 2) and nothing changes.`;

  static override examples = [
    "<%= config.bin %> add-flow 'priority=100,in_port=1,actions=output:2'",
    "<%= config.bin %> add-flow 'table=0,priority=200,tcp,nw_dst=10.0.0.2,tp_dst=80,actions=drop'",
    "<%= config.bin %> add-flow 'priority=10,dl_vlan=10,actions=strip_vlan,NORMAL'",
  ];

  static override args = {
    flow: Args.string({ description: 'rule, ovs-ofctl syntax', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AddFlow);
    const r = await this.rpc(this.socketPath(flags.socket), 'ofctl/add-flow', { flow: args.flow });
    if (flags.json) this.printJson(r);
  }
}
