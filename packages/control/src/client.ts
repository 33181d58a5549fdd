/**
 * The CLI side of the control protocol: json-rpc-2.0's JSONRPCClient over newline-delimited JSON on a
 * unix socket. One client = one connection; requests may be in flight concurrently.
 *
 * Errors: RpcConnectError (cannot connect; names the socket), RpcRemoteError (the daemon replied with an
 * error: `code`, `message`, `data`), RpcTransportError (connection lost or timed out mid-request).
 */
import net from 'node:net';
import { JSONRPCClient, JSONRPCErrorException, createJSONRPCErrorResponse } from 'json-rpc-2.0';
import { RpcConnectError, RpcRemoteError, RpcTransportError } from './errors.js';
import { DEFAULT_MAX_LINE_CHARS, readLines, writeMessage } from './framing.js';
import type { MethodName, ParamsOf, ResultOf } from './methods.js';

export interface RpcClientOptions {
  /** Default time to wait for a reply, ms. Default 10000. */
  timeoutMs?: number;
  /** Time to wait for the connection, ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Longest reply line accepted, characters. Default 64 MiB (replies such as flow dumps can be long). */
  maxLineChars?: number;
}

/** Code json-rpc-2.0's client uses for failures on its own side; the daemon never sends it. */
const LOCAL_ERROR_CODE = 0;

function describeConnectError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such socket (is the daemon running? start it with `tsvs start`)';
    case 'ECONNREFUSED':
      return 'connection refused (stale socket: the daemon is not running)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTSOCK':
      return 'not a socket';
    default:
      return err.message;
  }
}

export class RpcClient {
  private readonly jsonrpc: JSONRPCClient;
  private readonly timeoutMs: number;
  private isClosed = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly socketPath: string,
    options: RpcClientOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.jsonrpc = new JSONRPCClient((request) => {
      if (!writeMessage(this.socket, request)) throw new Error(`connection to ${socketPath} is closed`);
    });
    readLines(
      socket,
      options.maxLineChars ?? 64 * DEFAULT_MAX_LINE_CHARS,
      (line) => {
        let reply: unknown;
        try {
          reply = JSON.parse(line);
        } catch {
          return; // not ours to answer: a daemon sending garbage is reported as a timeout/close below
        }
        if (typeof reply === 'object' && reply !== null) this.jsonrpc.receive(reply as never);
      },
      (err) => {
        this.jsonrpc.rejectAllPendingRequests(`reading from ${socketPath}: ${err.message}`);
        socket.destroy();
      },
    );
    socket.on('close', () => {
      this.isClosed = true;
      this.jsonrpc.rejectAllPendingRequests(`connection to ${socketPath} closed before the reply`);
    });
  }

  /** Connects to the daemon. Rejects with RpcConnectError naming `socketPath`. */
  static connect(socketPath: string, options: RpcClientOptions = {}): Promise<RpcClient> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RpcConnectError(socketPath, `no answer within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RpcConnectError(socketPath, describeConnectError(err)));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.on('error', () => undefined); // reported through 'close' to pending requests
        resolve(new RpcClient(socket, socketPath, options));
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls a method and resolves with its result. See the class comment for the errors. */
  call<M extends MethodName>(method: M, params?: ParamsOf<M>, options?: { timeoutMs?: number }): Promise<ResultOf<M>>;
  call(method: string, params?: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
  async call(method: string, params?: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const requester = this.jsonrpc.timeout(timeoutMs, (id) =>
      createJSONRPCErrorResponse(id, LOCAL_ERROR_CODE, `no reply to ${method} within ${timeoutMs} ms`),
    );
    try {
      return await requester.request(method, params ?? {});
    } catch (err) {
      if (err instanceof JSONRPCErrorException && err.code !== LOCAL_ERROR_CODE) {
        throw new RpcRemoteError(err.code, err.message, err.data);
      }
      throw new RpcTransportError((err as Error).message);
    }
  }

  close(): void {
    this.isClosed = true;
    this.socket.end();
    this.socket.destroy();
  }
}

/** Connects, calls one method, and closes. */
export async function callDaemon<M extends MethodName>(
  socketPath: string,
  method: M,
  params?: ParamsOf<M>,
  options?: RpcClientOptions,
): Promise<ResultOf<M>> {
  const client = await RpcClient.connect(socketPath, options);
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}
