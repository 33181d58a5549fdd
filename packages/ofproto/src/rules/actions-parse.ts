/**
 * Parsing ovs-ofctl action lists (`actions=...`, `man ovs-actions`) into OfAction[]: a port of
 * OVS 3.1 `ofpacts_parse__()` and the `parse_<ACTION>()` functions of lib/ofp-actions.c for the
 * actions tsvs supports (./actions.ts), with the same spellings, defaults and checks, and
 * `ofpacts_verify()`'s instruction ordering (goto_table last, once).
 *
 * Error messages are one line and name the bad token; most are OVS's own wording. Actions OVS
 * knows but tsvs does not implement (group, learn, ct, ...) are refused as "unsupported".
 * The checks that need the rule's match and table (prerequisites, goto_table order) are in
 * ./actions-check.ts.
 */
import { tokenizeMatch, parseEth, parseIp4 } from '@tsvs/packet';
import { NX_CTLR_NO_METER, type OfAction, type ControllerAction } from './actions.js';
import { fieldByName, fieldValueValid } from './fields.js';
import { parseFieldValue } from './field-value.js';
import { OFPP_CONTROLLER, OFPP_IN_PORT, parsePort, type PortMap } from './ports.js';
import { OfctlSyntaxError, parseDecimal, parseUint } from './tokenize.js';

export interface ParseActionsOptions {
  /** Port names for `output:NAME`, bare `NAME`, `resubmit:NAME`, `set_field:NAME->in_port`. */
  portMap?: PortMap;
}

/** OVS action names (OFPACTS and the extra spellings) that tsvs does not implement. */
const UNSUPPORTED = new Set([
  'group', 'enqueue', 'output_reg', 'bundle', 'bundle_load', 'move', 'push', 'pop', 'set_mpls_label',
  'set_mpls_tc', 'set_mpls_ttl', 'dec_mpls_ttl', 'push_mpls', 'pop_mpls', 'dec_nsh_ttl',
  'delete_field', 'encap', 'decap', 'set_tunnel', 'set_tunnel64', 'set_queue', 'pop_queue',
  'fin_timeout', 'learn', 'conjunction', 'multipath', 'exit', 'sample', 'unroll_xlate', 'ct',
  'ct_clear', 'nat', 'output_trunc', 'clone', 'check_pkt_larger', 'debug_recirc', 'debug_slow',
  'meter', 'clear_actions', 'write_actions', 'write_metadata', 'load',
]);

const PACKET_IN_REASONS = new Set(['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out']);

/** Table number as OVS `ofputil_table_from_string` reads it (decimal 0..255), or undefined. */
export function parseTableId(s: string): number | undefined {
  if (s.startsWith('-')) return undefined;
  const t = parseDecimal(s);
  return t !== undefined && t <= 255 ? t : undefined;
}

/** OVS `ofpbuf_put_hex`: pairs of hex digits, separated by optional dots or white space. */
function parseHexBytes(s: string): string | undefined {
  let out = '';
  let i = 0;
  for (;;) {
    while (i < s.length && ' .\t\r\n'.includes(s[i]!)) i++;
    if (i + 2 > s.length || !/^[0-9a-fA-F]{2}$/.test(s.slice(i, i + 2))) {
      return i >= s.length ? out : undefined;
    }
    out += s.slice(i, i + 2).toLowerCase();
    i += 2;
  }
}

function parseController(arg: string): OfAction {
  let reason = 'action';
  let controllerId = 0;
  let maxLen = 0xffff;
  let meterId = NX_CTLR_NO_METER;
  let userdata = '';
  let hasUserdata = false;
  let pause = false;
  if (arg === '') {
    // defaults
  } else if (/^[0-9]+$/.test(arg)) {
    maxLen = parseUint(arg, 'max_len', 0xffff);
  } else {
    for (const t of tokenizeMatch(arg)) {
      switch (t.name) {
        case 'reason':
          if (!PACKET_IN_REASONS.has(t.value)) throw new OfctlSyntaxError(`unknown reason "${t.value}"`);
          reason = t.value;
          break;
        case 'max_len':
          maxLen = parseUint(t.value, 'max_len', 0xffff);
          break;
        case 'id':
          controllerId = parseUint(t.value, 'id', 0xffff);
          break;
        case 'userdata': {
          const hex = parseHexBytes(t.value);
          if (hex === undefined) throw new OfctlSyntaxError("bad hex digit in `controller' action `userdata'");
          userdata = hex;
          hasUserdata = true;
          break;
        }
        case 'pause':
          pause = true;
          break;
        case 'meter_id':
          meterId = parseUint(t.value, 'meter_id', 0xffffffff);
          break;
        default:
          throw new OfctlSyntaxError(`unknown key "${t.name}" parsing controller action`);
      }
    }
  }
  if (reason === 'action' && controllerId === 0 && !hasUserdata && !pause && meterId === NX_CTLR_NO_METER) {
    return { type: 'output', port: OFPP_CONTROLLER, maxLen };
  }
  const c: ControllerAction = { type: 'controller', maxLen, reason, controllerId, userdata, pause, meterId };
  return c;
}

function parseResubmit(arg: string, portMap: PortMap | undefined): OfAction {
  const parts = arg.split(',');
  const inPortS = parts[0] ?? '';
  const tableS = parts[1] ?? '';
  const ctS = parts.slice(2).join(',');
  let inPort = OFPP_IN_PORT;
  if (inPortS !== '') {
    const p = parsePort(inPortS, portMap);
    if (p === undefined) throw new OfctlSyntaxError(`${inPortS}: resubmit to unknown port`);
    inPort = p;
  }
  let table = 255;
  if (tableS !== '') {
    const t = parseTableId(tableS);
    if (t === undefined) throw new OfctlSyntaxError(`${tableS}: resubmit to unknown table`);
    table = t;
  }
  let ct = false;
  if (ctS !== '') {
    if (ctS !== 'ct') throw new OfctlSyntaxError(`${ctS}: unknown parameter`);
    ct = true;
  }
  if (inPort === OFPP_IN_PORT && table === 255) {
    throw new OfctlSyntaxError(`resubmit(${arg}): at least one "in_port" or "table" must be specified on resubmit`);
  }
  return { type: 'resubmit', inPort, table, ct };
}

function parseSetField(arg: string, portMap: PortMap | undefined): OfAction {
  const at = arg.indexOf('->');
  if (at < 0) throw new OfctlSyntaxError(`${arg}: missing \`->'`);
  const name = arg.slice(at + 2);
  if (name === '') throw new OfctlSyntaxError(`${arg}: missing field name following \`->'`);
  const fd = fieldByName(name);
  if (!fd) throw new OfctlSyntaxError(`${name} is not a valid OXM field name`);
  if (!fd.writable) throw new OfctlSyntaxError(`${name} is read-only`);
  const text = arg.slice(0, at);
  const { value, mask } = parseFieldValue(fd, text, portMap);
  if (!fieldValueValid(fd, value)) throw new OfctlSyntaxError(`${text} is not a valid value for field ${name}`);
  // Keep only the bits the mask writes (OVS would refuse the others on the wire: OFPBMC_BAD_WILDCARDS).
  return { type: 'set_field', field: fd.name, value: value.map((v, i) => (v & mask[i]!) >>> 0), mask };
}

/** Pads note bytes the way OVS's NXAST_NOTE wire form does (header 10 bytes, 8-byte multiple). */
function padNote(hex: string): string {
  const n = hex.length / 2;
  const padded = Math.ceil((10 + n) / 8) * 8 - 10;
  return hex + '00'.repeat(padded - n);
}

/** Parses one action item; returns null for `drop`. */
function parseOne(name: string, value: string, portMap: PortMap | undefined): OfAction | null {
  const key = name.toLowerCase();
  switch (key) {
    case 'output': {
      if (value.includes('port') && value.includes('max_len')) {
        throw new OfctlSyntaxError(`output(${value}): unsupported action output_trunc`);
      }
      const port = parsePort(value, portMap);
      if (port === undefined) throw new OfctlSyntaxError(`${value}: output to unknown port`);
      return { type: 'output', port, maxLen: port === OFPP_CONTROLLER ? 0xffff : 0 };
    }
    case 'controller':
      return parseController(value);
    case 'set_field':
      return parseSetField(value, portMap);
    case 'set_vlan_vid':
    case 'mod_vlan_vid': {
      const vid = parseUint(value, 'VLAN VID', 0xffff);
      if (vid & ~0x0fff) throw new OfctlSyntaxError(`${value}: not a valid VLAN VID`);
      return { type: 'set_vlan_vid', vid, push: key === 'mod_vlan_vid' };
    }
    case 'set_vlan_pcp':
    case 'mod_vlan_pcp': {
      const pcp = parseUint(value, 'VLAN PCP', 0xff);
      if (pcp & ~7) throw new OfctlSyntaxError(`${value}: not a valid VLAN PCP`);
      return { type: 'set_vlan_pcp', pcp, push: key === 'mod_vlan_pcp' };
    }
    case 'strip_vlan':
      return { type: 'strip_vlan', spelling: 'strip_vlan' };
    case 'pop_vlan':
      return { type: 'strip_vlan', spelling: 'pop_vlan' };
    case 'push_vlan': {
      const ethertype = parseUint(value, 'ethertype', 0xffff);
      if (ethertype !== 0x8100 && ethertype !== 0x88a8) throw new OfctlSyntaxError(`${value}: not a valid VLAN ethertype`);
      return { type: 'push_vlan', ethertype };
    }
    case 'mod_dl_src':
    case 'mod_dl_dst': {
      const e = parseEth(value);
      if (!e) throw new OfctlSyntaxError(`invalid mac address ${value}`);
      return { type: key === 'mod_dl_src' ? 'set_eth_src' : 'set_eth_dst', hi: e[0], lo: e[1] };
    }
    case 'mod_nw_src':
    case 'mod_nw_dst': {
      const ip = parseIp4(value);
      if (ip === undefined) throw new OfctlSyntaxError(`${value}: could not convert to IP address`);
      return { type: key === 'mod_nw_src' ? 'set_ipv4_src' : 'set_ipv4_dst', ip };
    }
    case 'mod_nw_tos': {
      const tos = parseUint(value, 'TOS', 0xff);
      if (tos & ~0xfc) throw new OfctlSyntaxError(`${value}: not a valid TOS`);
      return { type: 'set_ip_dscp', dscp: tos };
    }
    case 'mod_nw_ecn': {
      const ecn = parseUint(value, 'ECN', 0xff);
      if (ecn & ~3) throw new OfctlSyntaxError(`${value}: not a valid ECN`);
      return { type: 'set_ip_ecn', ecn };
    }
    case 'mod_nw_ttl':
    case 'set_nw_ttl':
      return { type: 'set_ip_ttl', ttl: parseUint(value, 'TTL', 0xff) };
    case 'mod_tp_src':
      return { type: 'set_l4_src_port', port: parseUint(value, 'source port', 0xffff) };
    case 'mod_tp_dst':
      return { type: 'set_l4_dst_port', port: parseUint(value, 'destination port', 0xffff) };
    case 'dec_ttl': {
      if (value === '') return { type: 'dec_ttl' };
      const ids = value.split(/[, ]+/).filter((x) => x !== '').map((x) => {
        // OVS reads each id with atoi(): leading digits, else 0.
        const m = /^\s*[+-]?\d+/.exec(x);
        return m ? Number.parseInt(m[0], 10) & 0xffff : 0;
      });
      if (ids.length === 0) throw new OfctlSyntaxError('dec_ttl_cnt_ids: expected at least one controller id.');
      return { type: 'dec_ttl', cntIds: ids };
    }
    case 'resubmit':
      return parseResubmit(value, portMap);
    case 'goto_table': {
      const t = parseTableId(value);
      if (t === undefined) throw new OfctlSyntaxError(`unknown table "${value}"`);
      return { type: 'goto_table', table: t };
    }
    case 'note': {
      const hex = parseHexBytes(value);
      if (hex === undefined) throw new OfctlSyntaxError(`note:${value}: bad hex digit in \`note' argument`);
      return { type: 'note', hex: padNote(hex) };
    }
    case 'drop':
      return null;
    case 'apply_actions':
      throw new OfctlSyntaxError('apply_actions is the default instruction');
  }
  if (UNSUPPORTED.has(key)) throw new OfctlSyntaxError(`unsupported action ${name}`);
  const port = parsePort(name, portMap);
  if (port !== undefined) return { type: 'output', port, maxLen: 0 };
  throw new OfctlSyntaxError(`unknown action ${name}`);
}

/**
 * Parses an action list (the text after `actions=`). An empty list, or `drop` alone, is [] (OVS
 * prints it as `drop`).
 * @throws OfctlSyntaxError (one line, naming the bad token) on unknown or unsupported actions,
 *   bad arguments, `drop` with other actions, or goto_table not last / twice.
 */
export function parseActions(text: string, opts?: ParseActionsOptions): OfAction[] {
  const out: OfAction[] = [];
  let drop = false;
  for (const t of tokenizeMatch(text)) {
    const a = parseOne(t.name, t.value, opts?.portMap);
    if (a === null) drop = true;
    else out.push(a);
  }
  if (drop && out.length) {
    throw new OfctlSyntaxError('"drop" must not be accompanied by any other action or instruction');
  }
  // ofpacts_verify: every action is apply_actions except goto_table, which must come last.
  for (let i = 0; i < out.length - 1; i++) {
    if (out[i]!.type === 'goto_table') {
      throw new OfctlSyntaxError(
        out[i + 1]!.type === 'goto_table'
          ? 'duplicate goto_table instruction not allowed, for OpenFlow 1.1+ compatibility'
          : 'invalid instruction ordering: apply_actions must appear before goto_table, for OpenFlow 1.1+ compatibility',
      );
    }
  }
  return out;
}
