/**
 * Base of every tsvs command that talks to the daemon.
 *
 * Flags: `--socket PATH` (also $TSVS_SOCKET; default in @tsvs/control paths.ts); DataCommand adds `--json`.
 * Errors: one line on stderr, `tsvs: <message>`, and the exit status
 *   2  bad usage or input (bad flag or argument, invalid value, refused by the daemon as bad input)
 *   3  the daemon cannot be reached (the message names the socket tried)
 *   1  anything else (the daemon failed, the connection dropped)
 */
import { Command, Errors, Flags } from '@oclif/core';
import {
  ExitCode,
  RpcClient,
  RpcConnectError,
  RpcRemoteError,
  RpcTransportError,
  exitCodeForRpcError,
  resolveSocketPath,
  type MethodName,
  type ParamsOf,
  type ResultOf,
} from '@tsvs/control';

/** A mistake in how the command was used; exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a chosen exit status. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/**
 * One line out of a possibly multi-line message: oclif's parse errors read "Parsing --pmd\n\tExpected an
 * integer ...\nSee more help with --help"; the useful lines are joined with ": ".
 */
export function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help with/.test(l));
  return lines.length > 0 ? lines.join(': ') : message.trim();
}

/** Maps any error to [exit status, one-line message]. */
export function describeError(err: unknown): [number, string] {
  if (err instanceof RpcConnectError) return [ExitCode.Unreachable, err.message];
  if (err instanceof RpcRemoteError) return [exitCodeForRpcError(err.code), err.message];
  if (err instanceof RpcTransportError) return [ExitCode.Failure, err.message];
  if (err instanceof UsageError) return [ExitCode.Usage, err.message];
  if (err instanceof CommandFailure) return [err.exitCode, err.message];
  if (err instanceof Errors.CLIError) {
    // oclif's own errors: parse failures (unknown flag, bad value, missing argument) carry exit 2.
    return [err.oclif.exit ?? ExitCode.Failure, err.message];
  }
  return [ExitCode.Failure, err instanceof Error ? err.message : String(err)];
}

export abstract class TsvsCommand extends Command {
  static override baseFlags = {
    socket: Flags.string({
      description: 'control socket of the daemon [default: $TSVS_SOCKET, else /run/tsvs/tsvs.sock as root, $XDG_RUNTIME_DIR/tsvs/tsvs.sock or /tmp/tsvs-$UID/tsvs.sock otherwise]',
      helpValue: 'PATH',
      helpGroup: 'GLOBAL',
    }),
  };

  /** The socket: --socket, else $TSVS_SOCKET, else the default. */
  protected socketPath(flag: string | undefined): string {
    return resolveSocketPath(flag);
  }

  /** One RPC on a fresh connection. Errors propagate to catch(). */
  protected async rpc<M extends MethodName>(socket: string, method: M, params?: ParamsOf<M>, timeoutMs?: number): Promise<ResultOf<M>> {
    const client = await RpcClient.connect(socket, timeoutMs !== undefined ? { timeoutMs } : {});
    try {
      return await client.call(method, params);
    } finally {
      client.close();
    }
  }

  /** Prints a value as JSON (one document, 2-space indent) on stdout. */
  protected printJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const [code, message] = describeError(err);
    process.stderr.write(`tsvs: ${oneLine(message)}\n`);
    throw new Errors.ExitError(code);
  }
}

/** A command that shows data: adds `--json`. */
export abstract class DataCommand extends TsvsCommand {
  static override baseFlags = {
    ...TsvsCommand.baseFlags,
    json: Flags.boolean({ description: 'print the result as JSON', helpGroup: 'GLOBAL' }),
  };
}
