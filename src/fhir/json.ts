import { badRequest, errorMessage } from './outcome.js';

/** A JSON object (not null, not an array): the shape of every resource and complex element. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a FHIR JSON request body.
 *
 * Beyond JSON.parse this refuses two things FHIR forbids: duplicate object keys, which JSON.parse
 * resolves silently by keeping the last one (data loss for a clinical record), and nesting deeper
 * than `maxDepth`, which no FHIR resource needs and which costs every later recursive walk.
 * Errors are 400s that point at the line and column, and for duplicates at the element path.
 * https://hl7.org/fhir/R4/json.html
 */
export function parseFhirJson(text: string, opts?: { maxDepth?: number }): unknown {
  const maxDepth = opts?.maxDepth ?? 100;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // JSON.parse messages differ between engines and often lack the position; the scanner,
    // which validates the grammar too, reports the first fault with its line and column.
    scanStructure(text, maxDepth, undefined);
    throw badRequest(`Malformed JSON: ${errorMessage(err)}`, undefined, 'structure');
  }
  scanStructure(text, maxDepth, rootName(value));
  return value;
}

function rootName(value: unknown): string | undefined {
  const resourceType = isJsonObject(value) ? value.resourceType : undefined;
  return typeof resourceType === 'string' ? resourceType : undefined;
}

/** One open object or array. Frames are pooled by depth so a 50 MB Bundle allocates only its keys. */
interface Frame {
  isObject: boolean;
  keys: Set<string>;
  key: string;
  index: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;

// Where the scanner is in the grammar: expecting a value, an object key, or what follows a value.
const VALUE = 0;
const KEY = 1;
const AFTER_VALUE = 2;

/**
 * Hand-written single pass over the text because no JSON.parse reviver or streaming parser can
 * see duplicate keys and stay fast on 50 MB transaction Bundles: this one builds no values, only
 * a Set of the keys of each open object, and validates the grammar so that it can also locate
 * the faults JSON.parse rejected.
 */
function scanStructure(text: string, maxDepth: number, root: string | undefined): void {
  const n = text.length;
  const frames: Frame[] = [];
  let depth = 0;
  let state = VALUE;
  let i = skipWhitespace(text, 0);

  const fail = (message: string, at: number): never => {
    throw badRequest(`${message} at ${position(text, at)}`, undefined, 'structure');
  };
  for (;;) {
    if (state === VALUE) {
      if (i >= n) fail('Unexpected end of JSON', i);
      const c = text.charCodeAt(i);
      if (c === OPEN_BRACE) {
        if (depth >= maxDepth) fail(`JSON is nested deeper than ${maxDepth} levels`, i);
        openFrame(frames, depth++, true);
        i = skipWhitespace(text, i + 1);
        if (text.charCodeAt(i) === CLOSE_BRACE) {
          depth--;
          i++;
          state = AFTER_VALUE;
        } else {
          state = KEY;
        }
      } else if (c === OPEN_BRACKET) {
        if (depth >= maxDepth) fail(`JSON is nested deeper than ${maxDepth} levels`, i);
        openFrame(frames, depth++, false);
        i = skipWhitespace(text, i + 1);
        if (text.charCodeAt(i) === CLOSE_BRACKET) {
          depth--;
          i++;
          state = AFTER_VALUE;
        }
      } else if (c === QUOTE) {
        i = skipString(text, i, fail);
        state = AFTER_VALUE;
      } else if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
        i = skipNumber(text, i, fail);
        state = AFTER_VALUE;
      } else if (text.startsWith('true', i)) {
        i += 4;
        state = AFTER_VALUE;
      } else if (text.startsWith('false', i)) {
        i += 5;
        state = AFTER_VALUE;
      } else if (text.startsWith('null', i)) {
        i += 4;
        state = AFTER_VALUE;
      } else {
        fail(`Unexpected character ${JSON.stringify(text[i])}`, i);
      }
    } else if (state === KEY) {
      if (text.charCodeAt(i) !== QUOTE) fail('Expected a double-quoted property name', i);
      const start = i;
      i = skipString(text, i, fail);
      const raw = text.slice(start + 1, i - 1);
      // Compare decoded names: "\u0061" and "a" are the same key.
      const key = raw.includes('\\') ? String(JSON.parse(text.slice(start, i))) : raw;
      const frame = frames[depth - 1];
      frame.key = key;
      if (frame.keys.has(key)) {
        const path = pathOf(frames, depth, root);
        throw badRequest(`Duplicate JSON property "${key}" at ${path} (${position(text, start)})`, path, 'structure');
      }
      frame.keys.add(key);
      i = skipWhitespace(text, i);
      if (text.charCodeAt(i) !== COLON) fail("Expected ':' after property name", i);
      i = skipWhitespace(text, i + 1);
      state = VALUE;
    } else {
      i = skipWhitespace(text, i);
      if (depth === 0) {
        if (i < n) fail('Unexpected content after the JSON value', i);
        return;
      }
      const frame = frames[depth - 1];
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i = skipWhitespace(text, i + 1);
        if (frame.isObject) {
          state = KEY;
        } else {
          frame.index++;
          state = VALUE;
        }
      } else if (c === (frame.isObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
        depth--;
        i++;
      } else {
        fail(frame.isObject ? "Expected ',' or '}'" : "Expected ',' or ']'", i);
      }
    }
  }
}

function openFrame(frames: Frame[], depth: number, isObject: boolean): void {
  const frame = frames[depth];
  if (frame === undefined) {
    frames.push({ isObject, keys: new Set(), key: '', index: 0 });
  } else {
    frame.isObject = isObject;
    frame.keys.clear();
    frame.index = 0;
  }
}

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

// A run of plain string characters; the regex engine skips long texts far faster than a JS loop.
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;

/** Returns the index just past the closing quote of the string opening at `i`. */
function skipString(text: string, i: number, fail: (message: string, at: number) => never): number {
  const n = text.length;
  let j = i + 1;
  for (;;) {
    STRING_RUN.lastIndex = j;
    STRING_RUN.test(text);
    j = STRING_RUN.lastIndex;
    if (j >= n) fail('Unterminated string', i);
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(j + 1);
      if (e === 0x75 /* u */) {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(j + 2, j + 6))) fail('Invalid \\u escape', j);
        j += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
      } else {
        fail('Invalid escape in string', j);
      }
    } else {
      fail('Unescaped control character in string', j);
    }
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function skipNumber(text: string, i: number, fail: (message: string, at: number) => never): number {
  NUMBER.lastIndex = i;
  if (!NUMBER.test(text)) fail('Invalid number', i);
  return NUMBER.lastIndex;
}

/** `Patient.name[0].family`: the resource type, then keys and array indexes of the open frames. */
function pathOf(frames: Frame[], depth: number, root: string | undefined): string {
  let path = root ?? '';
  for (let d = 0; d < depth; d++) {
    const frame = frames[d];
    path += frame.isObject ? `.${frame.key}` : `[${frame.index}]`;
  }
  return path.startsWith('.') ? path.slice(1) : path;
}

/** 1-based line and column (in UTF-16 code units) of an offset, computed only when reporting. */
function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}
