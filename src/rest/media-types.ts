/**
 * Content negotiation (https://www.rfc-editor.org/rfc/rfc9110#name-accept, and FHIR's `_format`,
 * https://hl7.org/fhir/R4/http.html#mime-type): every route answers FHIR JSON; a route may offer
 * other representations of the same result (the passport summary as a PDF).
 */
export const FHIR_JSON_TYPE = 'application/fhir+json';
export const PDF_TYPE = 'application/pdf';

/** `_format` short names (https://hl7.org/fhir/R4/http.html#mime-type) as media types. */
const FORMAT_NAMES: Readonly<Record<string, string>> = { json: FHIR_JSON_TYPE, xml: 'application/fhir+xml', ttl: 'text/turtle', pdf: PDF_TYPE };

/** What the client accepts: `_format` when given (it overrides Accept), else the Accept header. */
export function acceptedTypes(format: string | undefined, accept: string | undefined): string | undefined {
  if (format === undefined) return accept;
  return FORMAT_NAMES[format.toLowerCase()] ?? format;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').flatMap((part): MediaRange[] => {
    const [range = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const [type, subtype] = range.split('/');
    if (!type || !subtype) return [];
    const q = parameters.find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    return Number.isFinite(quality) ? [{ type, subtype, q: quality }] : [];
  });
}

/** How specifically `range` names `offered` (higher wins, RFC 9110 section 12.5.1), or -1 when it does not. */
function specificity(range: MediaRange, offered: string): number {
  const [type, subtype] = offered.split('/');
  if (range.type === '*' && range.subtype === '*') return 0;
  if (range.type !== type) return -1;
  if (range.subtype === '*') return 1;
  // Any JSON flavour (application/json, application/json+fhir of STU3 clients) asks for FHIR JSON.
  if (offered === FHIR_JSON_TYPE && range.subtype.includes('json')) return 2;
  return range.subtype === subtype ? 2 : -1;
}

function quality(ranges: readonly MediaRange[], offered: string): number {
  let best = -1;
  let q = 0;
  for (const range of ranges) {
    const s = specificity(range, offered);
    if (s > best) [best, q] = [s, range.q];
  }
  return best < 0 ? 0 : q;
}

/**
 * The offered media type the client prefers, the first offered winning ties; undefined when it
 * accepts none (a 406). No Accept at all accepts anything.
 */
export function preferredMediaType(accept: string | undefined, offered: readonly string[]): string | undefined {
  if (accept === undefined || accept.trim() === '') return offered[0];
  const ranges = mediaRanges(accept);
  let chosen: string | undefined;
  let chosenQ = 0;
  for (const type of offered) {
    const q = quality(ranges, type);
    if (q > chosenQ) [chosen, chosenQ] = [type, q];
  }
  return chosen;
}
