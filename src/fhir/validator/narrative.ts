import type { Fault } from './primitives.js';

/**
 * The narrative rules of https://hl7.org/fhir/R4/narrative.html#xhtml, invariants txt-1 and
 * txt-2 of Narrative.div, which R4 expresses as `htmlChecks()`: a function the FHIRPath
 * specification leaves to each validator (fhirpath.js always answers true). The root is a `<div>`
 * in the XHTML namespace; the markup is well formed; only the basic formatting elements of HTML 4
 * chapters 7–11 and 15, `<a>`, images and style attributes are used, never scripts, forms, frames,
 * objects or event attributes; and there is some content besides whitespace.
 */
export function narrativeFault(div: string): Fault | undefined {
  const scan = new Scanner(div);
  return scan.document();
}

const ELEMENTS: ReadonlySet<string> = new Set(
  (
    'a abbr acronym address area b bdo big blockquote br caption cite code col colgroup dd dfn div dl dt em ' +
    'h1 h2 h3 h4 h5 h6 hr i img kbd li map ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ul var'
  ).split(' '),
);

const ATTRIBUTES: ReadonlySet<string> = new Set(
  (
    'abbr accesskey align alt axis border cellpadding cellspacing char charoff cite class colspan compact coords datetime dir ' +
    'frame headers height href hreflang id ismap lang longdesc name rel rev rowspan rules scope shape span src start style ' +
    'summary tabindex title type usemap valign value width xml:lang'
  ).split(' '),
);

const XHTML = 'http://www.w3.org/1999/xhtml';
const NAME = /[A-Za-z_][A-Za-z0-9_:.-]*/y;
const ENTITY = /&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);/y;

class Scanner {
  private at = 0;
  private content = false;

  constructor(private readonly text: string) {}

  document(): Fault | undefined {
    this.skipWhitespace();
    if (!this.text.startsWith('<div', this.at)) return { key: 'narrativeRoot' };
    const fault = this.element(true);
    if (fault) return fault;
    this.skipWhitespace();
    if (this.at < this.text.length) return markup(this.at);
    return this.content ? undefined : { key: 'narrativeEmpty' };
  }

  /** One element and everything in it; `at` is on its `<`. */
  private element(root: boolean): Fault | undefined {
    this.at++;
    const name = this.name();
    if (name === undefined) return markup(this.at);
    if (!ELEMENTS.has(name)) return { key: 'narrativeElement', params: { name } };
    if (name === 'img') this.content = true;
    let namespace: string | undefined;
    for (;;) {
      const before = this.at;
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.at);
      if (c === 0x3e /* > */) {
        this.at++;
        break;
      }
      if (c === 0x2f /* / */ && this.text.charCodeAt(this.at + 1) === 0x3e) {
        this.at += 2;
        return root && namespace !== XHTML ? { key: 'narrativeRoot' } : undefined;
      }
      if (this.at === before) return markup(this.at);
      const attribute = this.name();
      if (attribute === undefined) return markup(this.at);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.at) !== 0x3d /* = */) return markup(this.at);
      this.at++;
      this.skipWhitespace();
      const value = this.quoted();
      if (value === undefined) return markup(this.at);
      if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) {
        if (!root) return { key: 'narrativeAttribute', params: { name: attribute } };
        if (attribute === 'xmlns') namespace = value;
        continue;
      }
      if (!ATTRIBUTES.has(attribute)) return { key: 'narrativeAttribute', params: { name: attribute } };
      if ((attribute === 'href' || attribute === 'src') && /^\s*javascript:/i.test(value)) return { key: 'narrativeAttribute', params: { name: `${attribute}="javascript:…"` } };
    }
    if (root && namespace !== XHTML) return { key: 'narrativeRoot' };
    return this.children(name);
  }

  private children(name: string): Fault | undefined {
    const text = this.text;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c === 0x3c /* < */) {
        const next = text.charCodeAt(this.at + 1);
        if (next === 0x2f /* / */) {
          this.at += 2;
          const closing = this.name();
          this.skipWhitespace();
          if (closing !== name || text.charCodeAt(this.at) !== 0x3e) return markup(this.at);
          this.at++;
          return undefined;
        }
        if (text.startsWith('<!--', this.at)) {
          const end = text.indexOf('-->', this.at + 4);
          if (end < 0) return markup(this.at);
          this.at = end + 3;
          continue;
        }
        if (next === 0x21 /* ! */ || next === 0x3f /* ? */) return markup(this.at);
        const fault = this.element(false);
        if (fault) return fault;
        continue;
      }
      if (c === 0x26 /* & */) {
        ENTITY.lastIndex = this.at;
        if (!ENTITY.test(text)) return markup(this.at);
        this.at = ENTITY.lastIndex;
        this.content = true;
        continue;
      }
      if (c === 0x3e /* > */) return markup(this.at);
      if (!(c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d)) this.content = true;
      this.at++;
    }
    return markup(this.at);
  }

  private name(): string | undefined {
    NAME.lastIndex = this.at;
    const match = NAME.exec(this.text);
    if (!match) return undefined;
    this.at = NAME.lastIndex;
    return match[0];
  }

  private quoted(): string | undefined {
    const quote = this.text.charCodeAt(this.at);
    if (quote !== 0x22 && quote !== 0x27) return undefined;
    const end = this.text.indexOf(quote === 0x22 ? '"' : "'", this.at + 1);
    if (end < 0) return undefined;
    const value = this.text.slice(this.at + 1, end);
    if (value.includes('<')) return undefined;
    this.at = end + 1;
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.at++;
    }
  }
}

/** Where the markup breaks, counted in characters from the start of the div. */
function markup(at: number): Fault {
  return { key: 'narrativeMarkup', params: { at } };
}
