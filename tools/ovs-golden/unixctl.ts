/**
 * Minimal client for an OVS daemon's unixctl socket (the `.ctl` socket ovs-appctl talks to).
 * Protocol (OVS lib/unixctl.c, lib/jsonrpc.c): JSON-RPC 1.0 over a unix stream socket; a request is
 * {"method": CMD, "params": [string...], "id": N}; the reply is {"id": N, "result": string, "error": null}
 * or {"id": N, "error": string}; messages follow each other with no delimiter. Going through the
 * socket instead of ovs-appctl avoids one process per frame and the 128 KiB limit on one argv
 * element (a 64 KiB frame is 128 KiB of hex).
 * One request at a time (call() waits for its reply).
 */
import { createConnection, type Socket } from 'node:net';

export interface UnixctlReply {
  /** The command's output, or null when it failed. */
  result: string | null;
  /** The error text the command returned, or null. */
  error: string | null;
}

export class UnixctlClient {
  private sock: Socket | null = null;
  private nextId = 1;
  private pending: { id: number; resolve: (r: UnixctlReply) => void; reject: (e: Error) => void } | null = null;
  // Scanner state over the reply text: brace depth, inside a string, after a backslash.
  private text = '';
  private scan = 0;
  private depth = 0;
  private inStr = false;
  private esc = false;

  constructor(readonly path: string) {}

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const s = createConnection(this.path);
      s.setEncoding('utf8');
      s.once('connect', () => resolve());
      s.once('error', reject);
      s.on('data', (d: string) => this.onData(d));
      s.on('close', () => this.failPending(new Error(`unixctl ${this.path}: connection closed`)));
      this.sock = s;
    });
    this.sock!.on('error', (e) => this.failPending(e));
  }

  call(method: string, params: string[]): Promise<UnixctlReply> {
    if (this.sock === null) return Promise.reject(new Error('unixctl: not connected'));
    if (this.pending !== null) return Promise.reject(new Error('unixctl: one request at a time'));
    const id = this.nextId++;
    return new Promise<UnixctlReply>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.sock!.write(JSON.stringify({ method, params, id }));
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }

  private onData(d: string): void {
    this.text += d;
    // Find the end of the top-level JSON object; strings may contain braces.
    const t = this.text;
    for (let i = this.scan; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === 0x5c) this.esc = true;
        else if (c === 0x22) this.inStr = false;
      } else if (c === 0x22) this.inStr = true;
      else if (c === 0x7b) this.depth++;
      else if (c === 0x7d && --this.depth === 0) {
        const msg = t.slice(0, i + 1);
        this.text = t.slice(i + 1);
        this.scan = 0;
        this.deliver(msg);
        this.onData('');
        return;
      }
    }
    this.scan = t.length;
  }

  private deliver(msg: string): void {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    let o: { id?: unknown; result?: unknown; error?: unknown };
    try {
      o = JSON.parse(msg) as typeof o;
    } catch (e) {
      p.reject(new Error(`unixctl: bad reply: ${(e as Error).message}`));
      return;
    }
    if (o.id !== p.id) {
      p.reject(new Error(`unixctl: reply id ${String(o.id)} for request ${p.id}`));
      return;
    }
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    p.resolve({ result: str(o.result), error: str(o.error) });
  }

  private failPending(e: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }
}
