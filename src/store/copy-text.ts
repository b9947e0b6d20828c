/**
 * COPY's text format (https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.2): one line
 * per row, columns separated by tabs, `\N` for NULL, and backslash, tab, newline and carriage
 * return escaped in values.
 */

/** A value already in array-literal form (`{"a","b"}`), written as it is. */
class ArrayLiteral {
  constructor(readonly literal: string) {}
}

const SPECIAL = /[\\\t\n\r]/g;
const HAS_SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function field(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof ArrayLiteral) return escape(value.literal);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return escape(String(value));
}

function escape(text: string): string {
  return HAS_SPECIAL.test(text) ? text.replace(SPECIAL, (c) => ESCAPES[c]!) : text;
}

export function copyRow(values: readonly unknown[]): string {
  return `${values.map(field).join('\t')}\n`;
}

/**
 * A text[] value: every element quoted, so a word such as `null` stays a word
 * (https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO).
 */
export function copyTextArray(items: readonly string[]): ArrayLiteral {
  return new ArrayLiteral(`{${items.map((item) => `"${item.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
}
