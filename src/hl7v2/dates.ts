/** HL7 v2 date/time values (DTM, v2.5.1 section 2A.3.22) as FHIR R4 date, dateTime and instant. */

const DTM = /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?)?([+-]\d{4})?$/;

/**
 * An HL7 DTM as a FHIR dateTime, to the precision given. FHIR requires a time zone with a time
 * (https://hl7.org/fhir/R4/datatypes.html#dateTime); a time sent without its offset cannot be
 * placed, so only its date is kept rather than guessing the lab's zone.
 */
export function fhirDateTime(dtm: string): string | undefined {
  const m = DTM.exec(dtm.trim());
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second, fraction, offset] = m;
  const date = [year, month, day].filter(Boolean).join('-');
  if (!hour || !day || !offset) return date;
  return `${date}T${hour}:${minute ?? '00'}:${second ?? '00'}${fraction ?? ''}${offset.slice(0, 3)}:${offset.slice(3)}`;
}

/** An HL7 DTM as a FHIR instant, when it is given to the second with its offset. */
export function fhirInstant(dtm: string): string | undefined {
  const value = fhirDateTime(dtm);
  return value && /T\d{2}:\d{2}:\d{2}/.test(value) && DTM.exec(dtm.trim())?.[6] ? value : undefined;
}
