/**
 * The daemon side of the control protocol: JSON-RPC 2.0 (json-rpc-2.0's JSONRPCServer) over
 * newline-delimited JSON on a unix socket.
 *
 * Hostile input never throws out of the server: bad JSON -> ParseError (-32700, id null); a non-request,
 * an empty batch or a batch over `maxBatch` -> InvalidRequest (-32600); unknown method -> MethodNotFound
 * (-32601); params failing the method's zod schema -> InvalidParams (-32602, `data.issues`); a line over
 * `maxLineChars` -> InvalidRequest and the connection is closed; a client that does not read its replies
 * (more than `maxPendingWriteBytes` queued) is disconnected. A handler error that is not an RpcError becomes
 * InternalError (-32603) with the error's message.
 */
import { mkdir, chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import {
  JSONRPCServer,
  createJSONRPCErrorResponse,
  isJSONRPCID,
  isJSONRPCRequest,
  type JSONRPCID,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { z } from 'zod';
import { RpcError, RpcErrorCode } from './errors.js';
import { DEFAULT_MAX_LINE_CHARS, LineTooLongError, readLines, writeMessage } from './framing.js';
import type { MethodName, ParamsOf, ResultOf } from './methods.js';
import { MAX_SOCKET_PATH_BYTES } from './paths.js';

/** The subset of pino's logger the server uses. */
export interface RpcLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RpcContext {
  /** Sequence number of the connection the request came on (0: not from a socket, e.g. a test). */
  connectionId: number;
  method: string;
}

export type RpcHandler<P, R> = (params: P, ctx: RpcContext) => R | Promise<R>;

export interface RpcServerOptions {
  /** Longest request line (characters). Default 1 MiB. */
  maxLineChars?: number;
  /** Most requests in one batch. Default 64. */
  maxBatch?: number;
  /** Most simultaneous connections. Default 64. */
  maxConnections?: number;
  /** Reply bytes queued for a client before it is dropped. Default 16 MiB. */
  maxPendingWriteBytes?: number;
  logger?: RpcLogger;
}

export interface MethodInfo {
  name: string;
  description: string;
}

const silent: RpcLogger = { debug() {}, warn() {}, error() {} };

/** Formats a zod issue path as `a.b[2].c`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line naming the first bad field, e.g. `pmd: Too small: expected number to be >=1`. */
export function formatZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = formatIssuePath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return `${path ? `${path}.${key}` : key}: unknown field`;
  }
  return path ? `${path}: ${issue.message}` : issue.message;
}

export class RpcServer {
  private readonly rpc: JSONRPCServer<RpcContext>;
  private readonly infos = new Map<string, MethodInfo>();
  private readonly sockets = new Set<net.Socket>();
  private readonly maxLineChars: number;
  private readonly maxBatch: number;
  private readonly maxConnections: number;
  private readonly maxPendingWriteBytes: number;
  private readonly log: RpcLogger;
  private server: net.Server | undefined;
  private path: string | undefined;
  private nextConnectionId = 0;

  constructor(options: RpcServerOptions = {}) {
    this.maxLineChars = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
    this.maxBatch = options.maxBatch ?? 64;
    this.maxConnections = options.maxConnections ?? 64;
    this.maxPendingWriteBytes = options.maxPendingWriteBytes ?? 16 << 20;
    this.log = options.logger ?? silent;
    this.rpc = new JSONRPCServer<RpcContext>({
      errorListener: (message, data) => {
        if (data instanceof RpcError) this.log.debug({ code: data.code, err: data.message }, 'rpc request refused');
        else this.log.error({ err: data }, message);
      },
    });
    this.rpc.mapErrorToJSONRPCErrorResponse = (id: JSONRPCID, error: unknown) => {
      if (error instanceof RpcError) return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
      const message = error instanceof Error ? error.message : String(error);
      return createJSONRPCErrorResponse(id, RpcErrorCode.InternalError, `internal error: ${message}`);
    };
  }

  /**
   * Adds a method. Requests are validated with `schema` (omitted params are validated as `{}`); the handler
   * sees only valid params. Throws if `name` is taken (a programming error, not a runtime condition).
   */
  register<M extends MethodName>(
    name: M,
    schema: z.ZodType<ParamsOf<M>>,
    handler: RpcHandler<ParamsOf<M>, ResultOf<M>>,
    description?: string,
  ): void;
  register<P, R>(name: string, schema: z.ZodType<P>, handler: RpcHandler<P, R>, description?: string): void;
  register<P, R>(name: string, schema: z.ZodType<P>, handler: RpcHandler<P, R>, description = ''): void {
    if (this.infos.has(name)) throw new Error(`rpc method ${name} is already registered`);
    this.infos.set(name, { name, description });
    this.rpc.addMethod(name, async (params: unknown, ctx: RpcContext) => {
      const checked = schema.safeParse(params === undefined ? {} : params);
      if (!checked.success) {
        const issues = checked.error.issues.map((i) => ({ path: formatIssuePath(i.path), message: i.message }));
        throw new RpcError(RpcErrorCode.InvalidParams, `invalid params: ${formatZodError(checked.error)}`, { issues });
      }
      const result = await handler(checked.data, ctx);
      return result === undefined ? null : result;
    });
  }

  unregister(name: string): void {
    this.infos.delete(name);
    this.rpc.removeMethod(name);
  }

  has(name: string): boolean {
    return this.infos.has(name);
  }

  /** Registered methods, sorted by name. */
  methods(): MethodInfo[] {
    return [...this.infos.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Handles one framed message (a line without its newline) and returns the reply line, or null when no
   * reply is due (notifications only). Never rejects.
   */
  async handleLine(line: string, connectionId = 0): Promise<string | null> {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (err) {
      return JSON.stringify(createJSONRPCErrorResponse(null, RpcErrorCode.ParseError, `Parse error: ${(err as Error).message}`));
    }
    let reply: JSONRPCResponse | JSONRPCResponse[] | null;
    if (Array.isArray(message)) {
      if (message.length === 0) reply = invalidRequest(null, 'Invalid Request: empty batch');
      else if (message.length > this.maxBatch) {
        reply = invalidRequest(null, `Invalid Request: batch of ${message.length} requests is over the limit of ${this.maxBatch}`);
      } else {
        const replies = await Promise.all(message.map((m) => this.receiveOne(m, connectionId)));
        const sent = replies.filter((r): r is JSONRPCResponse => r !== null);
        reply = sent.length > 0 ? sent : null;
      }
    } else {
      reply = await this.receiveOne(message, connectionId);
    }
    if (reply === null) return null;
    try {
      return JSON.stringify(reply);
    } catch (err) {
      const id = Array.isArray(reply) ? null : reply.id;
      return JSON.stringify(createJSONRPCErrorResponse(id, RpcErrorCode.InternalError, `internal error: result not serializable: ${(err as Error).message}`));
    }
  }

  private async receiveOne(message: unknown, connectionId: number): Promise<JSONRPCResponse | null> {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return invalidRequest(null, 'Invalid Request: not a request object');
    }
    if (!isJSONRPCRequest(message)) {
      const id = (message as { id?: unknown }).id;
      return invalidRequest(isJSONRPCID(id) ? id : null, 'Invalid Request');
    }
    this.log.debug({ method: message.method, id: message.id, connectionId }, 'rpc request');
    try {
      return await this.rpc.receive(message, { connectionId, method: message.method });
    } catch (err) {
      this.log.error({ err }, 'rpc dispatch failed');
      const id = isJSONRPCID(message.id) ? message.id : null;
      return createJSONRPCErrorResponse(id, RpcErrorCode.InternalError, 'internal error');
    }
  }

  /**
   * Listens on a unix socket at `path`, mode 0600, creating missing parent directories with mode 0700.
   * A stale socket file (nobody answers) is replaced. Throws when the path is too long, is not a socket,
   * or a live daemon answers on it.
   */
  async listen(path: string): Promise<void> {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await removeStaleSocket(path);
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.maxConnections;
    // The umask makes the socket 0600 from its creation; the chmod below is for umasks that are stricter.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    await chmod(path, 0o600);
    server.on('error', (err) => this.log.error({ err }, 'control socket error'));
    this.server = server;
    this.path = path;
  }

  /** The socket path listened on, if any. */
  get socketPath(): string | undefined {
    return this.path;
  }

  /**
   * Stops accepting, lets open connections flush their replies (up to `graceMs`), closes them and removes
   * the socket file.
   */
  async close(graceMs = 500): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
    if (this.path) await unlink(this.path).catch(() => undefined);
  }

  private accept(socket: net.Socket): void {
    const connectionId = ++this.nextConnectionId;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.log.debug({ err: err.message, connectionId }, 'control connection error'));
    readLines(
      socket,
      this.maxLineChars,
      (line) => {
        void this.handleLine(line, connectionId).then((reply) => {
          if (reply === null) return;
          if (socket.writableLength > this.maxPendingWriteBytes) {
            this.log.warn({ connectionId }, 'control client does not read its replies; disconnecting');
            socket.destroy();
            return;
          }
          if (!socket.destroyed) socket.write(reply + '\n');
        });
      },
      (err) => {
        this.log.warn({ connectionId, err: err.message }, 'closing control connection');
        if (err instanceof LineTooLongError) {
          writeMessage(socket, invalidRequest(null, `Invalid Request: ${err.message}`));
        }
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    );
  }
}

function invalidRequest(id: JSONRPCID, message: string): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, RpcErrorCode.InvalidRequest, message);
}

/** Removes `path` if it is a socket nobody answers on; throws if it is something else or is alive. */
async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another daemon is listening on ${path}`);
  await unlink(path);
}
