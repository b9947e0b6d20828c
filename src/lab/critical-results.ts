import type { Communication, DiagnosticReport, Observation, Quantity } from '@medplum/fhirtypes';

const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/**
 * Interpretations that call for someone to act now (v3 ObservationInterpretation, which HL7 v2
 * table 0078's OBX-8 flags map to): critically high, critically low, critically abnormal.
 */
const CRITICAL = new Set(['HH', 'LL', 'AA']);

/** The Observations of `observations` flagged critical. */
export function criticalResults(observations: readonly Observation[]): Observation[] {
  return observations.filter((o) => o.status !== 'entered-in-error' && o.interpretation?.some((i) => i.coding?.some((c) => c.system === INTERPRETATION && CRITICAL.has(c.code ?? ''))));
}

function valueText(observation: Observation): string {
  const quantity: Quantity | undefined = observation.valueQuantity;
  if (quantity?.value !== undefined) return `${quantity.comparator ?? ''}${quantity.value} ${quantity.unit ?? quantity.code ?? ''}`.trim();
  return observation.valueString ?? observation.valueCodeableConcept?.text ?? observation.valueCodeableConcept?.coding?.[0]?.code ?? '';
}

function testName(observation: Observation): string {
  return observation.code.text ?? observation.code.coding?.find((c) => c.display)?.display ?? observation.code.coding?.[0]?.code ?? '?';
}

/**
 * The alert a laboratory owes the organization that ordered a test when a result is critical
 * (ISO 15189 §7.4.1.3: critical results are notified at once): a Communication to that
 * organization about the report, naming each critical Observation, in Kazakh, Russian and English
 * (one payload per language, then the references). None when nothing is critical or the order's
 * organization is not known; a result without an order waits in the record like any other.
 */
export function criticalResultAlert(report: DiagnosticReport & { id: string }, observations: readonly (Observation & { id: string })[], alert: { orderedBy?: string; lab?: string }): Communication | undefined {
  const critical = criticalResults(observations) as (Observation & { id: string })[];
  if (critical.length === 0 || !alert.orderedBy || !report.subject?.reference) return undefined;
  const list = critical.map((o) => `${testName(o)}: ${valueText(o)}`).join('; ');
  return {
    resourceType: 'Communication',
    status: 'completed',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/communication-category', code: 'alert' }], text: 'critical-result' }],
    priority: 'stat',
    subject: { reference: report.subject.reference },
    about: [{ reference: `DiagnosticReport/${report.id}` }],
    recipient: [{ reference: alert.orderedBy }],
    ...(alert.lab ? { sender: { reference: alert.lab } } : {}),
    sent: new Date().toISOString(),
    payload: [
      { contentString: `Шұғыл зертханалық нәтиже: ${list}` },
      { contentString: `Критический лабораторный результат: ${list}` },
      { contentString: `Critical laboratory result: ${list}` },
      ...critical.map((o) => ({ contentReference: { reference: `Observation/${o.id}` } })),
    ],
  };
}
