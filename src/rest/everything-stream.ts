import type { Bundle, Resource } from '@medplum/fhirtypes';
import { serialize } from './raw.js';

/** A Bundle with more entries than this is written in pieces rather than as one string. */
export const STREAMED_ENTRIES = 500;

/** About this many characters go to the socket at a time: few writes, and none the size of the whole Bundle. */
const PIECE = 64 * 1024;

/**
 * The JSON text of a Bundle, piece by piece: its own elements, then each entry as `serialize`
 * writes it (a stored resource's JSON spliced in as is), so a page of 10,000 resources
 * (`$everything`) is never held a second time as one string besides the rows it was read from.
 * Everything in it was read, and its audit records committed, before the first piece is written.
 */
export function* bundleChunks(bundle: Bundle): Generator<string> {
  const { entry, ...rest } = bundle;
  const head = serialize(rest as Resource);
  if (!entry?.length) {
    yield head;
    return;
  }
  let piece = `${head.slice(0, -1)},"entry":[`;
  for (let i = 0; i < entry.length; i++) {
    piece += (i === 0 ? '' : ',') + serialize(entry[i] as Resource);
    if (piece.length >= PIECE) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}]}`;
}
