/**
 * The tree a traced translation records (OVS `struct oftrace_node`, ofproto/ofproto-dpif-trace.h),
 * and its printer (oftrace_node_print_details). Translation appends nodes only when asked to
 * trace; an untraced translation creates none.
 *
 * Node types and how they print (OVS 3.1):
 * - bridge: `bridge("br0")` after an empty line, underlined with dashes;
 * - table:  ` 0. <match>, priority P[, cookie 0x..]` — holds what happened in that table;
 * - action: the OpenFlow action as ovs-ofctl prints it;
 * - detail: ` -> text`; warn: ` >> text`; error: ` >>>> text <<<<`.
 * Indentation: a node is indented by 4 × (level + more), where `more` is 1 unless it is the last
 * of its siblings and not terminal (action/detail/warn/error are terminal); its children print at
 * level + 2 × more. So the last table of a chain of resubmits stays at the left margin.
 */

export type TraceNodeType = 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error';

export interface TraceNode {
  type: TraceNodeType;
  text: string;
  subs: TraceNode[];
}

function isTerminal(t: TraceNodeType): boolean {
  return t !== 'bridge' && t !== 'table';
}

/** OVS oftrace_node_print_details: appends the lines of `nodes` at `level` to `out`. */
export function printTraceNodes(nodes: readonly TraceNode[], level = 0, out: string[] = []): string[] {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.type === 'bridge') out.push('');
    const more = i + 1 < nodes.length || isTerminal(n.type) ? 1 : 0;
    const pad = ' '.repeat((level + more) * 4);
    switch (n.type) {
      case 'detail':
        out.push(`${pad} -> ${n.text}`);
        break;
      case 'warn':
        out.push(`${pad} >> ${n.text}`);
        break;
      case 'error':
        out.push(`${pad} >>>> ${n.text} <<<<`);
        break;
      case 'bridge':
        out.push(pad + n.text);
        out.push(pad + '-'.repeat(n.text.length));
        break;
      default:
        out.push(pad + n.text);
    }
    printTraceNodes(n.subs, level + 2 * more, out);
  }
  return out;
}
