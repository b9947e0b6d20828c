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
 * Errors are 400s that point at the line and column, and at the element path.
 * Numbers keep the text they were sent in (see NUMBER_TEXT). https://hl7.org/fhir/R4/json.html
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
  const numbers = scanStructure(text, maxDepth, rootName(value));
  if (numbers) attachNumberTexts(value, numbers);
  return value;
}

/**
 * JSON.parse for JSON this server wrote (stored versions, its own responses): no checks, but
 * numbers keep their text like parseFhirJson's. Most resources hold no number JavaScript would
 * rewrite, and a regular expression over the text says so without a scan.
 */
export function parseJsonText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  LOSSY_CANDIDATE.lastIndex = 0;
  for (let match = LOSSY_CANDIDATE.exec(text); match; match = LOSSY_CANDIDATE.exec(text)) {
    if (!rewritten(match[1])) continue;
    const numbers = scanStructure(text, Infinity, undefined);
    if (numbers) attachNumberTexts(value, numbers);
    break;
  }
  return value;
}

/**
 * Where a number's text is kept when JavaScript would not write it back the same: on the object
 * or array holding it, keyed by property name (array index as a string).
 *
 * FHIR says a decimal's precision is significant (https://hl7.org/fhir/R4/datatypes.html#decimal:
 * 1.50 is not 1.5) and JSON carries it in the number's text (https://hl7.org/fhir/R4/json.html),
 * which JSON.parse drops and Node 20 cannot recover (no JSON.parse source text, no JSON.rawJSON).
 * The values stay JavaScript numbers, so the validator, FHIRPath engines, search extraction, UCUM
 * and JSON Patch work unchanged; only serialization (stringifyFhir) puts the text back, and the
 * containers above such a number are marked so that it knows where to look. A wrapper
 * object instead would have had to be taught to every one of those, three of them libraries. The
 * key is an enumerable symbol so that spreads (`{ ...resource, meta }`) carry the texts along,
 * and a text is used only while its holder's number still equals it, so a value changed in place
 * is written as the new number rather than the old text.
 */
const NUMBER_TEXT = Symbol('number text');

type NumberTexts = Record<string, string>;
type Holder = { [NUMBER_TEXT]?: NumberTexts };

/** The text a number at `holder[key]` was sent in, if it is still that number and JavaScript would write it differently. */
export function numberText(holder: unknown, key: string | number): string | undefined {
  if (typeof holder !== 'object' || holder === null) return undefined;
  const text = (holder as Holder)[NUMBER_TEXT]?.[key];
  const value = (holder as Record<string, unknown>)[key];
  return text !== undefined && typeof value === 'number' && Object.is(Number(text), value) ? text : undefined;
}

/**
 * Sets (or with `undefined` forgets) the text of the number at `path` under `root`, for code that
 * puts a parsed number somewhere else (a JSON Patch value). The holder's texts are copied rather
 * than changed, since spread copies of it share them.
 */
export function setNumberText(root: object, path: readonly (string | number)[], text: string | undefined): void {
  const holder = markPath(root, path);
  const texts: NumberTexts = Object.assign(Object.create(null) as NumberTexts, holder[NUMBER_TEXT]);
  const key = String(path[path.length - 1]);
  if (text === undefined) delete texts[key];
  else texts[key] = text;
  holder[NUMBER_TEXT] = texts;
}

/** Whether `value` holds numbers kept as text, itself or below (its containers are marked, see markPath). */
export function hasNumberTexts(value: unknown): boolean {
  return typeof value === 'object' && value !== null && NUMBER_TEXT in value;
}

/** Marks the containers from `root` to the holder of `path`, for a value holding numbers kept as text that was put there. */
export function markNumberTexts(root: object, path: readonly (string | number)[]): void {
  markPath(root, path);
}

/**
 * Gives every container from `root` to the holder of `path` a (maybe empty) set of texts and
 * returns the holder: stringifyFhir takes the fast JSON.stringify for a value whose root has none.
 */
function markPath(root: object, path: readonly (string | number)[]): Holder {
  let holder = root as Holder & Record<string | number, unknown>;
  for (let i = 0; ; i++) {
    holder[NUMBER_TEXT] ??= Object.create(null) as NumberTexts;
    if (i === path.length - 1) return holder;
    holder = holder[path[i]] as Holder & Record<string | number, unknown>;
  }
}

/** Whether JavaScript writes this JSON number text differently (`1.50`, `1e-3`, `-0`, digits beyond a double's). */
function rewritten(text: string): boolean {
  return String(Number(text)) !== text;
}

/**
 * A number JavaScript may write differently, in a value position of compact or indented JSON:
 * a fraction ending in 0, an exponent, -0, 16 or more digits, or below 1e-6. It may also match
 * inside a string (`"ratio 1:1.50, …"`); then the scan finds nothing, at the cost of the scan.
 * Each match is checked first: a double JavaScript wrote itself has 17 digits and comes back the same.
 */
const LOSSY_CANDIDATE = /[:,[]\s*(-0|-?(?:\d+\.\d*0|\d[\d.]*[eE][+-]?\d+|[\d.]{16,}|0\.000000\d*))(?=[\s,\]}])/g;

/** A number's place (keys and array indexes from the root) and its text. */
interface NumberAt {
  path: (string | number)[];
  text: string;
}

function attachNumberTexts(root: unknown, numbers: NumberAt[]): void {
  for (const { path, text } of numbers) markPath(root as object, path)[NUMBER_TEXT]![path[path.length - 1]] = text;
}

// Random per process, so that no string in a response (an echoed search value) can pass for a marker.
const NUMBER_MARKER_ID = globalThis.crypto.randomUUID();
const NUMBER_MARKER = `\u0000${NUMBER_MARKER_ID}:`;
const NUMBER_MARKER_PATTERN = new RegExp(`"\\\\u0000${NUMBER_MARKER_ID}:(\\d+)"`, 'g');

type Replacer = (this: Record<PropertyKey, unknown>, key: string, value: unknown) => unknown;

/**
 * JSON.stringify that writes each number in the text it was received in (see NUMBER_TEXT):
 * `{"value":1.50}` comes back as sent. The number leaves JSON.stringify as a marker string and is
 * spliced in after.
 * `replacer` runs for every value that is not such a number.
 */
export function stringifyFhir(value: unknown, options?: { space?: number; replacer?: Replacer }): string {
  const extra = options?.replacer;
  // A replacer slows JSON.stringify down by half; most resources hold no number kept as text.
  if (!extra && !hasNumberTexts(value)) return JSON.stringify(value, null, options?.space);
  const texts: string[] = [];
  const replacer = function (this: Record<PropertyKey, unknown>, key: string, item: unknown): unknown {
    if (typeof item === 'number') {
      const text = (this as Holder)[NUMBER_TEXT]?.[key];
      if (text === undefined || !Object.is(Number(text), item)) return item;
      texts.push(text);
      return NUMBER_MARKER + (texts.length - 1);
    }
    return extra ? extra.call(this, key, item) : item;
  };
  const json = JSON.stringify(value, replacer, options?.space);
  return texts.length ? json.replace(NUMBER_MARKER_PATTERN, (_, i: string) => texts[Number(i)]) : json;
}

/** JSON text this server wrote, indented (`_pretty=true`), with every decimal as it was sent. */
export function prettyJson(json: string): string {
  return stringifyFhir(parseJsonText(json), { space: 2 });
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
function scanStructure(text: string, maxDepth: number, root: string | undefined): NumberAt[] | undefined {
  const n = text.length;
  const frames: Frame[] = [];
  let depth = 0;
  let state = VALUE;
  let i = skipWhitespace(text, 0);
  let numbers: NumberAt[] | undefined;

  // The element path too, once inside the body: `01.5` or `NaN` as a value is a fault of that element.
  const fail = (message: string, at: number, withPath = true): never => {
    const path = withPath && depth > 0 ? pathOf(frames, depth, root) : '';
    throw badRequest(`${message} at ${position(text, at)}${path ? ` (${path})` : ''}`, path || undefined, 'structure');
  };
  for (;;) {
    if (state === VALUE) {
      if (i >= n) fail('Unexpected end of JSON', i);
      const c = text.charCodeAt(i);
      if (c === OPEN_BRACE) {
        if (depth >= maxDepth) fail(`JSON is nested deeper than ${maxDepth} levels`, i, false);
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
        if (depth >= maxDepth) fail(`JSON is nested deeper than ${maxDepth} levels`, i, false);
        openFrame(frames, depth++, false);
        i = skipWhitespace(text, i + 1);
        if (text.charCodeAt(i) === CLOSE_BRACKET) {
          depth--;
          i++;
          state = AFTER_VALUE;
        }
      } else if (c === QUOTE) {
        const start = i;
        i = skipString(text, i, fail);
        // Known before JSON.parse succeeds, for the paths of the faults after it.
        if (root === undefined && depth === 1 && frames[0].isObject && frames[0].key === 'resourceType') root = String(JSON.parse(text.slice(start, i)));
        state = AFTER_VALUE;
      } else if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
        const start = i;
        i = skipNumber(text, i, fail);
        const number = text.slice(start, i);
        // A number that is the whole body has no holder; no FHIR body is one.
        if (depth > 0 && rewritten(number)) (numbers ??= []).push({ path: pathSegments(frames, depth), text: number });
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
        return numbers;
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
  // `01.5`, `1.` and `1e` are not numbers that stop early: JSON (and FHIR) has no such number.
  const next = text.charCodeAt(NUMBER.lastIndex);
  if ((next >= 0x30 && next <= 0x39) || next === 0x2e || next === 0x65 || next === 0x45 || next === 0x2b || next === MINUS) fail('Invalid number', NUMBER.lastIndex);
  return NUMBER.lastIndex;
}

function pathSegments(frames: Frame[], depth: number): (string | number)[] {
  const path: (string | number)[] = [];
  for (let d = 0; d < depth; d++) path.push(frames[d].isObject ? frames[d].key : frames[d].index);
  return path;
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
