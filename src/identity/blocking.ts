import type { PreparedPerson } from './comparison.js';

/**
 * Blocking: which record pairs are worth scoring at all. Comparing every pair
 * of 20 million people is 2·10¹⁴ comparisons; two records only meet when they
 * share a blocking key, and the keys are chosen so that a duplicate with any
 * one or two kinds of noise still shares at least one key with its original.
 *
 * Keys (each prefixed by its kind):
 * - `i`  the IIN — catches everything with an intact IIN;
 * - `x`  a foreign personal number or passport — the same for a foreign registration;
 * - `fgy` family sound + given sound + birth year — catches script and
 *   transliteration variants and vowel typos, the IIN missing or mistyped;
 * - `fgm` family sound + given sound + unordered month/day — the same when
 *   the year is off by one;
 * - `gd` given sound + unordered birth date — a new family name after marriage;
 * - `fd` family sound + unordered birth date — a consonant typo in the given name;
 * - `p`  phone;
 * - `ds` unordered birth date + sex + locality — both names garbled.
 *
 * "Unordered" date: day and month sorted, so a day/month swap keeps the key.
 * Sounds are {@link phoneticKey}s, so «Жанна», «Zhanna» and «Janna» agree.
 */
export function blockingKeys(person: PreparedPerson): string[] {
  const keys: string[] = [];
  const add = (key: string): void => {
    if (!keys.includes(key)) keys.push(key);
  };
  if (person.iin && person.iin.length >= 10) add(`i${person.iin}`);
  for (const id of person.foreignIds ?? []) add(`x${id}`);
  const year = person.year;
  const unorderedMonthDay =
    person.month !== undefined && person.day !== undefined
      ? person.month <= person.day
        ? `${person.month}.${person.day}`
        : `${person.day}.${person.month}`
      : undefined;
  const unorderedDate = year !== undefined && unorderedMonthDay !== undefined ? `${year}.${unorderedMonthDay}` : undefined;
  for (const family of person.familySounds) {
    for (const given of person.givenSounds) {
      if (year !== undefined) add(`fgy${family}|${given}|${year}`);
      if (unorderedMonthDay !== undefined) add(`fgm${family}|${given}|${unorderedMonthDay}`);
    }
    if (unorderedDate !== undefined) add(`fd${family}|${unorderedDate}`);
  }
  if (unorderedDate !== undefined) {
    for (const given of person.givenSounds) add(`gd${given}|${unorderedDate}`);
    const locality = person.cityKey ?? person.postalCode;
    if (person.sex && locality) add(`ds${unorderedDate}|${person.sex}|${locality}`);
  }
  if (person.phone) add(`p${person.phone}`);
  return keys;
}

export interface BlockingOptions {
  /**
   * Blocks larger than this are skipped, and counted in the statistics: a
   * phone shared by a clinic's whole reception desk or a placeholder date
   * (1900-01-01) would otherwise pull in thousands of unrelated people.
   */
  maxBlockSize?: number;
}

export interface BlockingStatistics {
  records: number;
  /** Distinct blocking keys (up to hash collisions, which only merge blocks). */
  blocks: number;
  /** Pairs handed to the visitor, each once. */
  candidatePairs: number;
  /** n·(n−1)/2: what scoring without blocking would have compared. */
  allPairs: number;
  skippedBlocks: number;
  skippedRecordsInBlocks: number;
  largestBlock: number;
}

export const DEFAULT_MAX_BLOCK_SIZE = 1000;

/**
 * Calls `visit(i, j)` (i < j, indexes into `keysOf`) once for every pair of
 * records that share at least one blocking key, without ever enumerating all
 * pairs: entries (key hash, record) are sorted so each block is a contiguous
 * run, and only pairs inside a run are visited.
 *
 * A pair sharing several keys is visited only in the block of the smallest
 * key hash they share (skipped blocks aside), so no set of seen pairs is
 * needed — memory stays linear in the number of records.
 */
export function forEachCandidatePair(
  keysOf: readonly (readonly string[])[],
  visit: (i: number, j: number) => void,
  options: BlockingOptions = {},
): BlockingStatistics {
  const maxBlockSize = options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
  const n = keysOf.length;
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  if (indexBits > 30) throw new RangeError(`blocking handles up to 2^30 records, got ${n}`);
  const hashSpace = 2 ** (53 - indexBits);
  const indexSpace = 2 ** indexBits;

  // Each record's key hashes, sorted, in one flat array (compressed rows).
  let total = 0;
  for (const keys of keysOf) total += keys.length;
  const offsets = new Uint32Array(n + 1);
  const hashes = new Float64Array(total);
  let at = 0;
  for (let r = 0; r < n; r++) {
    offsets[r] = at;
    const start = at;
    for (const key of keysOf[r]) hashes[at++] = keyHash(key) % hashSpace;
    hashes.subarray(start, at).sort();
  }
  offsets[n] = at;

  const entries = new Float64Array(total);
  for (let r = 0; r < n; r++) {
    for (let k = offsets[r]; k < offsets[r + 1]; k++) entries[k] = hashes[k] * indexSpace + r;
  }
  entries.sort();

  const stats: BlockingStatistics = {
    records: n,
    blocks: 0,
    candidatePairs: 0,
    allPairs: (n * (n - 1)) / 2,
    skippedBlocks: 0,
    skippedRecordsInBlocks: 0,
    largestBlock: 0,
  };
  // First pass: block sizes, and which blocks are too large to pair.
  const skipped = new Set<number>();
  for (let start = 0; start < total; ) {
    const end = blockEnd(entries, start, indexSpace);
    stats.blocks++;
    const size = end - start;
    if (size > stats.largestBlock) stats.largestBlock = size;
    if (size > maxBlockSize) {
      skipped.add(Math.floor(entries[start] / indexSpace));
      stats.skippedBlocks++;
      stats.skippedRecordsInBlocks += size;
    }
    start = end;
  }

  // Second pass: pairs inside each kept block, each pair only in its first shared block.
  const members: number[] = [];
  for (let start = 0; start < total; ) {
    const end = blockEnd(entries, start, indexSpace);
    const hash = Math.floor(entries[start] / indexSpace);
    if (end - start < 2 || skipped.has(hash)) {
      start = end;
      continue;
    }
    members.length = 0;
    for (let e = start; e < end; e++) members.push(entries[e] - hash * indexSpace);
    for (let x = 0; x < members.length; x++) {
      const i = members[x];
      for (let y = x + 1; y < members.length; y++) {
        const j = members[y];
        if (i === j) continue;
        if (firstSharedHash(hashes, offsets, i, j, skipped) !== hash) continue;
        stats.candidatePairs++;
        visit(i, j);
      }
    }
    start = end;
  }
  return stats;
}

/** End (exclusive) of the run of entries sharing the hash of `entries[start]`. */
function blockEnd(entries: Float64Array, start: number, indexSpace: number): number {
  const hash = Math.floor(entries[start] / indexSpace);
  let end = start + 1;
  while (end < entries.length && Math.floor(entries[end] / indexSpace) === hash) end++;
  return end;
}

/** Smallest key hash two records share outside skipped blocks (their hash rows are sorted). */
function firstSharedHash(hashes: Float64Array, offsets: Uint32Array, i: number, j: number, skipped: Set<number>): number {
  let a = offsets[i];
  const aEnd = offsets[i + 1];
  let b = offsets[j];
  const bEnd = offsets[j + 1];
  while (a < aEnd && b < bEnd) {
    const x = hashes[a];
    const y = hashes[b];
    if (x === y) {
      if (skipped.size === 0 || !skipped.has(x)) return x;
      a++;
      b++;
    } else if (x < y) {
      a++;
    } else {
      b++;
    }
  }
  return -1;
}

/** 53-bit FNV-1a-style hash (two 32-bit lanes): block ids only, not security. */
function keyHash(key: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}
