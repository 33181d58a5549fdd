/**
 * Error codes of the control protocol and the errors the client raises.
 *
 * JSON-RPC 2.0 reserves -32768..-32000; -32700..-32600 are the spec's own codes, -32099..-32000 are
 * "server errors" for the implementation: tsvs uses -32001..-32009 for errors caused by the caller's input
 * (the CLI exits 2 on them) and -32010.. for errors of the daemon's state (exit 1).
 */
export const RpcErrorCode = {
  /** Not valid JSON (JSON-RPC 2.0 §5.1). */
  ParseError: -32700,
  /** Valid JSON but not a request object, an empty or oversized batch, or a line over the size limit. */
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  /** Params fail the method's schema; `data.issues` lists `{ path, message }`. */
  InvalidParams: -32602,
  /** A bug in the daemon: the handler threw something that is not an RpcError. */
  InternalError: -32603,
  /** Well-formed params whose content is wrong (bad flow syntax, bad value). */
  BadInput: -32001,
  /** The object named does not exist (unknown port, unknown thread). */
  NotFound: -32002,
  /** The object already exists or the change conflicts with the current state (duplicate port). */
  Conflict: -32003,
  /** The daemon cannot do it now (stopping, subsystem not loaded). */
  Unavailable: -32010,
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/** Exit status of the CLI: 2 for bad usage or input, 3 when the daemon cannot be reached, 1 otherwise. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2, Unreachable: 3 } as const;

/**
 * An error a method handler throws on purpose; the server sends `code`, `message` and `data` unchanged.
 * Anything else a handler throws becomes InternalError with the error's message.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** The daemon answered with an error response. */
export class RpcRemoteError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcRemoteError';
  }
}

/** Nothing answers on the socket (missing, refused, permission denied, timeout). `socketPath` says which. */
export class RpcConnectError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`cannot reach the tsvs daemon at ${socketPath}: ${reason}`);
    this.name = 'RpcConnectError';
  }
}

/** The connection closed or timed out while a request was outstanding. */
export class RpcTransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcTransportError';
  }
}

/** The CLI's exit status for an error code in a response. */
export function exitCodeForRpcError(code: number): number {
  if (code === RpcErrorCode.InvalidParams) return ExitCode.Usage;
  if (code <= RpcErrorCode.BadInput && code > RpcErrorCode.Unavailable) return ExitCode.Usage;
  return ExitCode.Failure;
}
