/**
 * The bridge's ports: the `ports` list of the config (name, type, OpenFlow port number, options)
 * and the datapath ports opened for them.
 *
 * - add: checks the request against the config (name and ofport unique, the bridge's own name
 *   reserved), opens the port (the provider checks type-specific options and capabilities), then
 *   saves the config; a failure at any step leaves both the datapath and the config as they were.
 *   The OpenFlow port number is the requested one or the lowest free one from 1, and it is saved,
 *   so it survives restarts (as OVS keeps `ofport` in its database).
 * - del: closes the port, then removes it from the config.
 * - restore (daemon start): opens every configured port; one that cannot be opened (its interface
 *   is gone, no capability) stays in the config and shows state "error" with the reason, as OVS
 *   keeps an Interface row with its `error` column set.
 * Operations run one at a time, in call order.
 *
 * Errors are RpcErrors: Conflict (name or ofport in use), NotFound (no such port), BadInput (the
 * provider refused the type or an option, or cannot open the port: one line from the provider).
 */
import { OFPP_LOCAL, OFPORT_MAX, RpcError, RpcErrorCode, type PortVlan, type ShowPort } from '@tsvs/control';
import type { Datapath } from '@tsvs/dpif';
import { ConfigError } from '../config/parse.js';
import type { PortConfig } from '../config/schema.js';
import type { Daemon } from '../daemon.js';

/** What opens and closes ports in the datapath (directly now; through the OpenFlow bridge later). */
export interface PortBackend {
  /** Opens a port; resolves to its odp port number. Rejects with an Error whose message is one line. */
  open(port: PortConfig & { ofport: number }): Promise<number>;
  close(name: string, odpPort: number): Promise<void>;
}

/** The plain datapath backend: ports are datapath ports, nothing above them. */
export function datapathBackend(dp: Datapath): PortBackend {
  return {
    open: (p) => dp.portAdd({ name: p.name, type: p.type, options: p.options }),
    close: (_name, odpPort) => dp.portDel(odpPort),
  };
}

interface OpenPort {
  odpPort: number;
}

export class SwitchPorts {
  private readonly opened = new Map<string, OpenPort>();
  private readonly failed = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly d: Daemon,
    private readonly dp: Datapath,
    private backend: PortBackend,
  ) {}

  /** Replaces the backend (ports already open stay open). */
  setBackend(b: PortBackend): void {
    this.backend = b;
  }

  private serialize<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Opens every port of the config (see the file comment). Never rejects. */
  restore(): Promise<void> {
    return this.serialize(async () => {
      for (const p of this.d.config.get().ports) {
        const ofport = p.ofport ?? this.freeOfport();
        try {
          const odpPort = await this.backend.open({ ...p, ofport });
          this.opened.set(p.name, { odpPort });
          this.failed.delete(p.name);
          this.d.log.info({ port: p.name, type: p.type, ofport, odpPort }, 'port restored');
        } catch (err) {
          const msg = oneLine(err);
          this.failed.set(p.name, msg);
          this.d.log.error({ port: p.name, type: p.type, err: msg }, 'cannot open a configured port');
        }
        if (p.ofport === null) {
          await this.d.config.update('port ofport assigned', (draft) => {
            const q = draft.ports.find((x) => x.name === p.name);
            if (q) q.ofport = ofport;
          }).catch((err: unknown) => this.d.log.error({ err }, 'saving an assigned ofport'));
        }
      }
    });
  }

  /** The lowest OpenFlow port number from 1 that no configured port uses. */
  private freeOfport(): number {
    const used = new Set(this.d.config.get().ports.map((p) => p.ofport));
    let n = 1;
    while (used.has(n)) n++;
    return n;
  }

  add(req: { name: string; type: PortConfig['type']; ofport?: number; options?: Record<string, string> } & PortVlan): Promise<{ name: string; type: string; ofport: number; odpPort: number } & PortVlan> {
    return this.serialize(async () => {
      const cfg = this.d.config.get();
      if (req.name === cfg.bridge.name) throw new RpcError(RpcErrorCode.Conflict, `port ${req.name}: the bridge's own port has that name`);
      const same = cfg.ports.find((p) => p.name === req.name);
      if (same) throw new RpcError(RpcErrorCode.Conflict, `port ${req.name} already exists (type ${same.type}, ofport ${same.ofport ?? '-'})`);
      if (req.ofport !== undefined) {
        const holder = cfg.ports.find((p) => p.ofport === req.ofport);
        if (holder) throw new RpcError(RpcErrorCode.Conflict, `ofport ${req.ofport} is in use by port ${holder.name}`);
      }
      const ofport = req.ofport ?? this.freeOfport();
      if (ofport > OFPORT_MAX) throw new RpcError(RpcErrorCode.Unavailable, 'no free OpenFlow port number');
      const port: PortConfig & { ofport: number } = {
        name: req.name, type: req.type, ofport, options: { ...(req.options ?? {}) }, ...vlanOf(req),
      };
      // Validate the entry as the config would before touching the datapath.
      try {
        await this.d.config.validate((draft) => void draft.ports.push(port));
      } catch (err) {
        throw badInput(err);
      }
      let odpPort: number;
      try {
        odpPort = await this.backend.open(port);
      } catch (err) {
        throw new RpcError(RpcErrorCode.BadInput, oneLine(err));
      }
      try {
        await this.d.config.update(`add-port ${req.name}`, (draft) => void draft.ports.push(port));
      } catch (err) {
        await this.backend.close(port.name, odpPort).catch(() => undefined);
        throw badInput(err);
      }
      this.opened.set(port.name, { odpPort });
      this.failed.delete(port.name);
      this.d.log.info({ port: port.name, type: port.type, ofport, odpPort, options: port.options }, 'port added');
      return { name: port.name, type: port.type, ofport, odpPort, ...vlanOf(port) };
    });
  }

  del(name: string): Promise<{ name: string; ofport: number | null; odpPort: number | null }> {
    return this.serialize(async () => {
      const p = this.d.config.get().ports.find((x) => x.name === name);
      if (!p) {
        if (name === this.d.config.get().bridge.name) throw new RpcError(RpcErrorCode.BadInput, `cannot delete the bridge's own port ${name}`);
        throw new RpcError(RpcErrorCode.NotFound, `no port ${name}`);
      }
      const open = this.opened.get(name);
      if (open) {
        try {
          await this.backend.close(name, open.odpPort);
        } catch (err) {
          throw new RpcError(RpcErrorCode.Unavailable, `cannot close port ${name}: ${oneLine(err)}`);
        }
        this.opened.delete(name);
      }
      this.failed.delete(name);
      await this.d.config.update(`del-port ${name}`, (draft) => {
        draft.ports = draft.ports.filter((x) => x.name !== name);
      });
      this.d.log.info({ port: name, ofport: p.ofport, odpPort: open?.odpPort ?? null }, 'port deleted');
      return { name, ofport: p.ofport, odpPort: open?.odpPort ?? null };
    });
  }

  /** The odp port number of an open port, by name (the bridge's name gives 0, the local port). */
  odpPort(name: string): number | undefined {
    if (name === this.dp.name) return 0;
    return this.opened.get(name)?.odpPort;
  }

  /** Port name of an odp port number. */
  nameOf(odpPort: number): string | undefined {
    return this.dp.portQueryByNumber(odpPort)?.name;
  }

  /** OpenFlow port number of a port by name (OFPP_LOCAL for the bridge's own port). */
  ofport(name: string): number | null {
    if (name === this.dp.name) return OFPP_LOCAL;
    return this.d.config.get().ports.find((p) => p.name === name)?.ofport ?? null;
  }

  /** `show` ports: the local port first, then the configured ones in config order. */
  show(): ShowPort[] {
    const assignment = this.dp.rxqAssignment();
    const rxqsOf = (odp: number, n: number): ShowPort['rxqs'] =>
      Array.from({ length: n }, (_, q) => ({ rxq: q, pmd: assignment.get(`${odp}/${q}`) ?? null }));
    const out: ShowPort[] = [];
    const local = this.dp.portQueryByNumber(0);
    if (local) {
      out.push({ name: local.name, type: local.type, ofport: OFPP_LOCAL, odpPort: 0, options: {}, rxqs: rxqsOf(0, local.nRxq), state: 'up' });
    }
    for (const p of this.d.config.get().ports) {
      const open = this.opened.get(p.name);
      const info = open ? this.dp.portQueryByNumber(open.odpPort) : null;
      const error = this.failed.get(p.name);
      out.push({
        name: p.name,
        type: p.type,
        ofport: p.ofport,
        odpPort: open?.odpPort ?? null,
        options: { ...p.options },
        rxqs: info ? rxqsOf(info.portNo, info.nRxq) : [],
        state: open ? 'up' : error ? 'error' : 'configured',
        ...(error ? { error } : {}),
        ...vlanOf(p),
      });
    }
    return out;
  }
}

/** The VLAN fields that are set (so absent ones stay absent in the config and in replies). */
export function vlanOf(p: PortVlan): PortVlan {
  return {
    ...(p.tag !== undefined ? { tag: p.tag } : {}),
    ...(p.trunks !== undefined ? { trunks: [...p.trunks] } : {}),
    ...(p.vlan_mode !== undefined ? { vlan_mode: p.vlan_mode } : {}),
  };
}

export function oneLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] ?? m;
}

function badInput(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof ConfigError) return new RpcError(RpcErrorCode.BadInput, err.message.replace(/^config file \S+: /, ''));
  return new RpcError(RpcErrorCode.Unavailable, oneLine(err));
}
