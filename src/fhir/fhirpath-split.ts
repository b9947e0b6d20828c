/**
 * Splits FHIRPath text at `separator` where it stands outside string literals and parentheses:
 * `a.where(b | c) | d` at `|` gives `a.where(b | c) ` and ` d`. Parts are as written, untrimmed.
 * Own code: the FHIRPath engines parse whole expressions, not the branches or steps asked for here.
 */
export function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" && text[i - 1] !== '\\') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
