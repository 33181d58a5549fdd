/**
 * Parsing and validating config text, with errors that name the field at fault and its line.
 *
 * Syntax is checked with jsonc-parser in strict JSON mode (no comments, no trailing commas) because it
 * reports the offset of the first error, which JSON.parse on Node 20 does not give reliably; the value is
 * then taken from JSON.parse. Validation errors are located by walking the parse tree to the field's path.
 */
import { findNodeAtLocation, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { z } from 'zod';
import { formatIssuePath } from '@tsvs/control';

/**
 * A config file that cannot be used. `field` is the dotted path of the bad field (absent for syntax
 * errors), `line`/`column` are 1-based when known.
 */
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    readonly field?: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line !== undefined ? ` (line ${line}${column !== undefined ? `, column ${column}` : ''})` : '';
    super(`config file ${path}: ${field !== undefined ? `${field || '(top level)'}: ` : ''}${detail}${where}`);
    this.name = 'ConfigError';
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const SYNTAX_WORDS: Record<string, string> = {
  InvalidSymbol: 'invalid symbol',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'property name expected',
  ValueExpected: 'value expected',
  ColonExpected: "':' expected",
  CommaExpected: "',' expected",
  CloseBraceExpected: "'}' expected",
  CloseBracketExpected: "']' expected",
  EndOfFileExpected: 'end of file expected',
  InvalidCommentToken: 'comments are not allowed',
  UnexpectedEndOfComment: 'unexpected end of comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unexpected end of number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character',
};

/** Parses JSON text strictly. Throws ConfigError with line and column on a syntax error. */
export function parseConfigText(text: string, path: string): unknown {
  if (text.trim() === '') throw new ConfigError(path, 'syntax error: the file is empty', undefined, 1, 1);
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) {
    const { line, column } = lineColumn(text, first.offset);
    const code = printParseErrorCode(first.error);
    throw new ConfigError(path, `syntax error: ${SYNTAX_WORDS[code] ?? code}`, undefined, line, column);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, `syntax error: ${(err as Error).message}`);
  }
}

/** Validates a parsed value; throws ConfigError naming the first bad field and the line it is on. */
export function validateConfig<T>(schema: z.ZodType<T>, value: unknown, text: string | undefined, path: string): T {
  const checked = schema.safeParse(value);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0]!;
  let fieldPath: PropertyKey[] = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    fieldPath = [...fieldPath, issue.keys[0] ?? ''];
    message = 'unknown field';
  }
  let line: number | undefined;
  if (text !== undefined) {
    const root = parseTree(text);
    // Walk up to the deepest node that exists (a missing field is reported on its parent's line).
    for (let depth = fieldPath.length; root && depth >= 0; depth--) {
      const node = findNodeAtLocation(root, fieldPath.slice(0, depth) as (string | number)[]);
      if (node) {
        const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
        line = lineColumn(text, at).line;
        break;
      }
    }
  }
  throw new ConfigError(path, message, formatIssuePath(fieldPath), line);
}
