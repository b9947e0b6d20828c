/**
 * Splits a SQL script into its statements at the `;` that end them, for drivers that take one
 * statement per query (PGlite's `query`, pg's extended protocol). A `;` inside a string constant
 * ('…', E'…' with backslash escapes), a quoted identifier ("…"), a dollar-quoted string or
 * function body ($$…$$, $tag$…$tag$) or a comment (-- …, nested /* … *\/) does not end one.
 *
 * Lexical rules: https://www.postgresql.org/docs/15/sql-syntax-lexical.html
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === ';') {
      statements.push(script.slice(start, i));
      start = ++i;
    } else if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      i = blockCommentEnd(script, i);
    } else if (c === "'") {
      i = quotedEnd(script, i, "'", isEscapeString(script, i));
    } else if (c === '"') {
      i = quotedEnd(script, i, '"', false);
    } else if (c === '$') {
      const tag = dollarTagAt(script, i);
      if (tag) {
        const end = script.indexOf(tag, i + tag.length);
        if (end === -1) throw new Error(`unterminated dollar-quoted string ${tag} in the SQL script`);
        i = end + tag.length;
      } else {
        i++;
      }
    } else {
      i++;
    }
  }
  statements.push(script.slice(start));
  return statements.map((s) => s.trim()).filter((s) => s.length > 0 && !isOnlyComments(s));
}

/** Position after a (possibly nested) block comment starting at `i`. */
function blockCommentEnd(script: string, i: number): number {
  let depth = 0;
  while (i < script.length) {
    if (script.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (script.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new Error('unterminated /* comment in the SQL script');
}

/** Position after the quoted text opening at `i`; a doubled quote is one quote, in E'' strings \' too. */
function quotedEnd(script: string, i: number, quote: string, backslashEscapes: boolean): number {
  for (let j = i + 1; j < script.length; j++) {
    const c = script[j];
    if (backslashEscapes && c === '\\') j++;
    else if (c === quote) {
      if (script[j + 1] === quote) j++;
      else return j + 1;
    }
  }
  throw new Error(`unterminated ${quote} in the SQL script`);
}

/** E'…' (or e'…'), the E not being the end of a longer word such as `TABLE'`. */
function isEscapeString(script: string, quoteAt: number): boolean {
  const before = script[quoteAt - 1];
  if (before !== 'E' && before !== 'e') return false;
  return !/[\w$]/.test(script[quoteAt - 2] ?? '');
}

/** `$$` or `$tag$` at `i`, unless the `$` continues an identifier or is a parameter ($1). */
function dollarTagAt(script: string, i: number): string | undefined {
  if (/[\w$]/.test(script[i - 1] ?? '')) return undefined;
  const match = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(script.slice(i, i + 64));
  return match?.[0];
}

/** A trailing `-- note` after the last `;` is no statement: PGlite refuses an empty query. */
function isOnlyComments(statement: string): boolean {
  return statement.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim() === '';
}
