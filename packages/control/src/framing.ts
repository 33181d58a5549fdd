/**
 * Stream framing of the control socket: newline-delimited JSON (one JSON-RPC message per line, UTF-8,
 * "\n" or "\r\n" terminated), as JSON-RPC tools over unix sockets commonly use. Lines are split with
 * split2; a line longer than `maxLineChars` makes the splitter fail instead of buffering without bound.
 */
import type { Readable, Writable } from 'node:stream';
import split2 from 'split2';

/** Longest accepted line, in UTF-16 code units (split2 measures the decoded string). 1 MiB. */
export const DEFAULT_MAX_LINE_CHARS = 1 << 20;

export class LineTooLongError extends Error {
  constructor(readonly maxLineChars: number) {
    super(`message line longer than ${maxLineChars} characters`);
    this.name = 'LineTooLongError';
  }
}

/**
 * Calls `onLine` for each line read from `input`, and `onError` once if a line is too long or the stream
 * fails (the caller then closes the connection). Empty lines are skipped.
 */
export function readLines(
  input: Readable,
  maxLineChars: number,
  onLine: (line: string) => void,
  onError: (err: Error) => void,
): void {
  const splitter = split2({ maxLength: maxLineChars });
  let failed = false;
  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    input.unpipe(splitter);
    onError(err.message === 'maximum buffer reached' ? new LineTooLongError(maxLineChars) : err);
  };
  splitter.on('data', (line: string) => {
    if (!failed && line.trim() !== '') onLine(line);
  });
  splitter.on('error', fail);
  input.on('error', fail);
  input.pipe(splitter);
}

/** Writes one message as a line. Returns false when the peer is gone. */
export function writeMessage(output: Writable, message: unknown): boolean {
  if (output.destroyed || output.writableEnded) return false;
  output.write(JSON.stringify(message) + '\n');
  return true;
}
