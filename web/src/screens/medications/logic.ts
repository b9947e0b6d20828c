import type { MedicationRequest, MedicationStatement } from '@medplum/fhirtypes';

export type MedicationEntry = MedicationRequest | MedicationStatement;

/**
 * Whether the medicine is current: a prescription active, on hold or a draft
 * (https://hl7.org/fhir/R4/valueset-medicationrequest-status.html), a statement active or
 * intended (https://hl7.org/fhir/R4/valueset-medication-statement-status.html).
 */
export function isCurrent(entry: MedicationEntry): boolean {
  return entry.resourceType === 'MedicationRequest' ? ['active', 'on-hold', 'draft'].includes(entry.status) : ['active', 'intended'].includes(entry.status);
}

/** When it was prescribed, or since when it is taken. */
export function startDate(entry: MedicationEntry): string | undefined {
  return entry.resourceType === 'MedicationRequest' ? (entry.authoredOn ?? entry.dispenseRequest?.validityPeriod?.start) : (entry.effectiveDateTime ?? entry.effectivePeriod?.start ?? entry.dateAsserted);
}

/** Until when: a prescription's validity, a statement's period end. */
export function endDate(entry: MedicationEntry): string | undefined {
  return entry.resourceType === 'MedicationRequest' ? entry.dispenseRequest?.validityPeriod?.end : entry.effectivePeriod?.end;
}

/** Current first, then past; each newest first. */
export function splitCurrent(entries: readonly MedicationEntry[]): { current: MedicationEntry[]; past: MedicationEntry[] } {
  const newestFirst = (a: MedicationEntry, b: MedicationEntry) => (startDate(b) ?? '').localeCompare(startDate(a) ?? '');
  const sorted = [...entries].sort(newestFirst);
  return { current: sorted.filter(isCurrent), past: sorted.filter((e) => !isCurrent(e)) };
}

/** The dosage as written: its text, else nothing (structured timing is not re-worded here). */
export function dosageText(entry: MedicationEntry): string | undefined {
  const dosage = entry.resourceType === 'MedicationRequest' ? entry.dosageInstruction : entry.dosage;
  return dosage?.map((d) => d.text ?? d.patientInstruction).filter(Boolean).join('; ') || undefined;
}
