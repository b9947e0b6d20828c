import type { Resource } from '@medplum/fhirtypes';
import { normalizeString } from './normalize.js';

/** The words of a resource for `_text` (its narrative) and `_content` (all of its text). */
export interface TextWords {
  narrative: string[];
  content: string[];
}

/** A resource contributes at most this many distinct words: enough for any clinical note's index. */
const MAX_WORDS = 2000;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Words for full-text search (https://hl7.org/fhir/R4/search.html#content), normalized like
 * string search (case, accents, Kazakh letters), so `_content=қант` finds «ҚАНТ диабеті» and
 * «қант». Whole words: a Cyrillic text needs no dictionary or PostgreSQL text-search locale.
 */
export function textWords(resource: Resource): TextWords {
  const div = 'text' in resource ? resource.text?.div : undefined;
  const narrative = typeof div === 'string' ? words([div.replace(/<[^>]*>/g, ' ').replace(/&[a-z]+;|&#\d+;/g, ' ')]) : [];
  const strings: string[] = [];
  collectStrings(resource, strings);
  return { narrative, content: words(strings) };
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) if (key !== 'div') collectStrings(item, into);
  }
}

function words(texts: string[]): string[] {
  const found = new Set<string>();
  for (const text of texts) {
    for (const match of normalizeString(text).matchAll(WORD)) {
      found.add(match[0]);
      if (found.size >= MAX_WORDS) return [...found];
    }
  }
  return [...found];
}

/**
 * A `_text` / `_content` value: words are ANDed, `OR` between groups ORs them. Returns the
 * alternatives, each the list of normalized words that must all occur.
 */
export function textQuery(value: string): string[][] {
  return value
    .split(/\s+OR\s+/)
    .map((group) => [...normalizeString(group).matchAll(WORD)].map((m) => m[0]))
    .filter((group) => group.length > 0);
}
