import { numberText } from '../fhir/json.js';
import type { CodeableConcept, Narrative, Period, Quantity, Range, Ratio } from '@medplum/fhirtypes';
import { codeDisplay } from '../fhir/terminology/display.js';
import type { Locale } from '../fhir/validate.js';
import { codeWord, formatDate, text } from './ips-text.js';

const XHTML_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">';

/**
 * A section's narrative (https://hl7.org/fhir/R4/narrative.html) in the one shape the summary's
 * readers (the PDF renderer among them) rely on: the XHTML div holds one `<table>` with a
 * `<thead>` row of `<th>` headings and a `<tbody>` of `<td>` rows, every cell plain escaped text.
 */
export function tableNarrative(headings: readonly string[], rows: readonly (readonly string[])[]): Narrative {
  const head = `<thead><tr>${headings.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>${rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`).join('')}</tbody>`;
  return { status: 'generated', div: `${XHTML_DIV}<table>${head}${body}</table></div>` };
}

/** The narrative of a section without entries: the div holds one `<p>` of plain escaped text. */
export function paragraphNarrative(sentence: string): Narrative {
  return { status: 'generated', div: `${XHTML_DIV}<p>${escapeXml(sentence)}</p></div>` };
}

function escapeXml(value: string): string {
  return value.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/**
 * A concept as words in `locale`: the bundled terminology's display of its first coding that has
 * one (src/fhir/terminology/display.ts), else a coding's own display, else the concept's text,
 * else the first code.
 */
export function conceptText(concept: CodeableConcept | undefined, locale: Locale): string {
  if (!concept) return '';
  const codings = concept.coding ?? [];
  for (const coding of codings) {
    const translated = coding.system && coding.code ? codeDisplay(coding.system, coding.code, locale) : undefined;
    if (translated) return translated;
  }
  return codings.find((c) => c.display)?.display ?? concept.text ?? codings.find((c) => c.code)?.code ?? '';
}

/** Several concepts, comma-separated. */
export function conceptsText(concepts: readonly CodeableConcept[] | undefined, locale: Locale): string {
  return (concepts ?? []).map((c) => conceptText(c, locale)).filter(Boolean).join(', ');
}

/**
 * A quantity as recorded: its value printed as the number it is (never rounded or re-formatted,
 * whose precision is clinical information), its comparator and its unit.
 */
export function quantityText(quantity: Quantity | undefined): string {
  if (!quantity || quantity.value === undefined) return '';
  const unit = quantity.unit ?? quantity.code;
  const value = numberText(quantity, 'value') ?? String(quantity.value);
  return `${quantity.comparator ?? ''}${value}${unit ? ` ${unit}` : ''}`;
}

export function rangeText(range: Range | undefined): string {
  if (!range) return '';
  const low = quantityText(range.low);
  const high = quantityText(range.high);
  if (low && high) return `${low} – ${high}`;
  return low ? `≥ ${low}` : high ? `≤ ${high}` : '';
}

function ratioText(ratio: Ratio): string {
  return `${quantityText(ratio.numerator)} / ${quantityText(ratio.denominator)}`;
}

export function periodText(period: Period | undefined, locale: Locale): string {
  if (!period) return '';
  const start = formatDate(period.start, locale);
  const end = formatDate(period.end, locale);
  return end && end !== start ? `${start} – ${end}` : start || end;
}

/** The choice elements `value[x]`, `onset[x]`… that a summary shows, by their JSON names. */
export interface ChoiceValues {
  valueQuantity?: Quantity;
  valueCodeableConcept?: CodeableConcept;
  valueString?: string;
  valueBoolean?: boolean;
  valueInteger?: number;
  valueRange?: Range;
  valueRatio?: Ratio;
  valueDateTime?: string;
  valuePeriod?: Period;
  valueTime?: string;
}

/** An Observation's (or component's) value as words; a value not recorded shows why, when the record says. */
export function valueText(value: ChoiceValues & { dataAbsentReason?: CodeableConcept }, locale: Locale): string {
  if (value.valueQuantity) return quantityText(value.valueQuantity);
  if (value.valueCodeableConcept) return conceptText(value.valueCodeableConcept, locale);
  if (value.valueString !== undefined) return value.valueString;
  if (value.valueBoolean !== undefined) return text(value.valueBoolean ? 'yes' : 'no', locale);
  if (value.valueInteger !== undefined) return `${value.valueInteger}`;
  if (value.valueRange) return rangeText(value.valueRange);
  if (value.valueRatio) return ratioText(value.valueRatio);
  if (value.valueDateTime) return formatDate(value.valueDateTime, locale);
  if (value.valuePeriod) return periodText(value.valuePeriod, locale);
  if (value.valueTime) return value.valueTime;
  return conceptText(value.dataAbsentReason, locale);
}

/** A `[x]` date element that may be a dateTime, a Period, a string or an Age: its date as the reader writes it. */
export function whenText(
  value: { dateTime?: string; period?: Period; string?: string; age?: Quantity },
  locale: Locale,
): string {
  if (value.dateTime) return formatDate(value.dateTime, locale);
  if (value.period) return periodText(value.period, locale);
  if (value.age) return quantityText(value.age);
  return value.string ?? '';
}

/** A status code or a concept's first code, translated when the summary knows the word. */
export function statusText(status: string | CodeableConcept | undefined, locale: Locale): string {
  if (status === undefined) return '';
  if (typeof status === 'string') return codeWord(status, locale);
  const code = status.coding?.find((c) => c.code)?.code;
  return code ? codeWord(code, locale) : conceptText(status, locale);
}
