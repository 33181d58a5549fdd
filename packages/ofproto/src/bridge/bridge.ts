/**
 * A bridge's port model (OVS `struct xbridge` with its xports/xbundles): names, OpenFlow port
 * numbers, datapath (odp) port numbers and VLAN settings, plus the bridge options translation
 * reads. One BridgePorts is an immutable snapshot: a port change builds a new one (`withPort`,
 * `withoutPort`), so a translation in progress keeps a consistent view, as OVS's RCU-protected
 * xlate configuration does. `config` is plain data and can be posted to worker threads.
 *
 * The bridge's own port (OFPP_LOCAL, named like the bridge) is an ordinary member of `ports` when
 * the caller lists it, as in OVS where `br0` is an internal port of bridge br0.
 *
 * Port order: the order of `config.ports`. NORMAL floods and FLOOD/ALL outputs follow it (OVS
 * walks hash maps there, so its order is arbitrary but fixed while it runs).
 */
import { OFPP_LOCAL, makePortMap, type PortMap } from '../rules/ports.js';
import { OfctlSyntaxError } from '../rules/tokenize.js';
import { BridgePort, type PortConfig } from './bridge-port.js';

export interface BridgeConfig {
  /** Bridge name (`ovs-appctl ofproto/trace BRIDGE`), printed as `bridge("NAME")` in traces. */
  name: string;
  ports: readonly PortConfig[];
  /** other_config:forward-bpdu. Default false: NORMAL drops frames to reserved multicast MACs. */
  forwardBpdu?: boolean;
}

export class BridgePorts {
  readonly name: string;
  readonly forwardBpdu: boolean;
  /** Ports in configuration order. */
  readonly list: readonly BridgePort[];
  private readonly byOfport = new Map<number, BridgePort>();
  private readonly byOdp = new Map<number, BridgePort>();
  private readonly byName = new Map<string, BridgePort>();
  /** OpenFlow port names for rule syntax and `--names` printing. */
  readonly portMap: PortMap;

  /** @throws OfctlSyntaxError for a bad port or a duplicate name, OpenFlow or odp number. */
  constructor(readonly config: Readonly<BridgeConfig>) {
    if (!config.name || /[\s,=()"]/.test(config.name)) throw new OfctlSyntaxError(`bad bridge name "${config.name}"`);
    this.name = config.name;
    this.forwardBpdu = !!config.forwardBpdu;
    const list: BridgePort[] = [];
    for (const pc of config.ports) {
      const p = new BridgePort(pc);
      if (this.byName.has(p.name)) throw new OfctlSyntaxError(`duplicate port name "${p.name}"`);
      if (this.byOfport.has(p.ofport)) throw new OfctlSyntaxError(`port "${p.name}": OpenFlow port ${p.ofport} already used by "${this.byOfport.get(p.ofport)!.name}"`);
      if (this.byOdp.has(p.odpPort)) throw new OfctlSyntaxError(`port "${p.name}": odp port ${p.odpPort} already used by "${this.byOdp.get(p.odpPort)!.name}"`);
      this.byName.set(p.name, p);
      this.byOfport.set(p.ofport, p);
      this.byOdp.set(p.odpPort, p);
      list.push(p);
    }
    this.list = list;
    this.portMap = makePortMap(list.map((p) => [p.name, p.ofport] as const));
  }

  /** Port by OpenFlow number (OFPP_LOCAL for the bridge port), or undefined. */
  ofport(n: number): BridgePort | undefined {
    return this.byOfport.get(n);
  }

  odp(n: number): BridgePort | undefined {
    return this.byOdp.get(n);
  }

  named(name: string): BridgePort | undefined {
    return this.byName.get(name);
  }

  /** The odp port of an OpenFlow port, or -1. */
  ofportToOdp(n: number): number {
    return this.byOfport.get(n)?.odpPort ?? -1;
  }

  /** The OpenFlow port of an odp port, or -1. */
  odpToOfport(n: number): number {
    return this.byOdp.get(n)?.ofport ?? -1;
  }

  /** odp port number -> name, for printing datapath actions with `--names`. */
  odpNames(): Map<number, string> {
    return new Map(this.list.map((p) => [p.odpPort, p.name]));
  }

  /** A snapshot with `port` added, or replacing the port of the same name. */
  withPort(port: PortConfig): BridgePorts {
    const ports = this.config.ports.filter((p) => p.name !== port.name);
    const i = this.config.ports.findIndex((p) => p.name === port.name);
    if (i >= 0) ports.splice(i, 0, port);
    else ports.push(port);
    return new BridgePorts({ ...this.config, ports });
  }

  /** A snapshot without the port called `name` (unchanged if there is none). */
  withoutPort(name: string): BridgePorts {
    return new BridgePorts({ ...this.config, ports: this.config.ports.filter((p) => p.name !== name) });
  }
}

/** The bridge's own port (OFPP_LOCAL), named like the bridge, on datapath port `odpPort`. */
export function localPortConfig(bridgeName: string, odpPort: number, extra: Partial<PortConfig> = {}): PortConfig {
  return { ...extra, name: bridgeName, ofport: OFPP_LOCAL, odpPort };
}
