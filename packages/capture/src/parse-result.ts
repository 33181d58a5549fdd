import type { CaptureError } from './error.js';
import type { RecordIndex } from './record-index.js';
import type { CaptureFormat, CaptureInterface } from './types.js';

/** What a format parser hands to readCapture: the index of intact records and the damage, if any. */
export interface ParseResult {
  readonly format: CaptureFormat;
  readonly byteOrder: 'le' | 'be';
  readonly interfaces: readonly CaptureInterface[];
  readonly index: RecordIndex;
  readonly error: CaptureError | null;
}
