/**
 * The one error type of this package: the file cannot be read (any further).
 *
 * `framesRead` is the number of records that were read intact before the failure (0 when the file
 * header itself is bad); `offset` is the byte offset in the file where the bad structure starts.
 * The message names the file, what is wrong, the offset and framesRead, on one line.
 */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly framesRead: number,
    readonly offset: number,
  ) {
    super(`${path}: ${reason} at byte ${offset} (${framesRead} frame${framesRead === 1 ? '' : 's'} read before the failure)`);
  }
}
