import type { Patient } from '@medplum/fhirtypes';
import { compare, preparePerson } from './comparison.js';
import { DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, type MatchThresholds, type MatchWeights, scoreLevels } from './matcher.js';
import { personRecordFromPatient } from './person-record.js';

/** The match grades of https://hl7.org/fhir/R4/extension-match-grade.html, best first. */
export type MatchGrade = 'certain' | 'probable' | 'possible';

export interface PatientMatch {
  patient: Patient;
  /** The Fellegi–Sunter log₂ likelihood ratio. */
  score: number;
  /** The score mapped onto 0..1 for `Bundle.entry.search.score`. */
  probability: number;
  grade: MatchGrade;
}

/**
 * How far below the review threshold a pair is still `possible`: a likelihood ratio within 100×
 * (log₂ 100 ≈ 6.6) of the review threshold, worth showing a registrar but never linking.
 */
const POSSIBLE_MARGIN = 6.6;

/**
 * Scores stored Patients against the one asked about (IHE PDQm `$match`), best first: `certain`
 * at or above the auto-link threshold, `probable` at or above the review threshold, `possible`
 * just below it; the rest are left out.
 */
export function matchPatients(query: Patient, candidates: readonly Patient[], weights: MatchWeights = DEFAULT_WEIGHTS, thresholds: MatchThresholds = DEFAULT_THRESHOLDS): PatientMatch[] {
  const asked = preparePerson(personRecordFromPatient(query));
  const matches: PatientMatch[] = [];
  for (const patient of candidates) {
    const score = scoreLevels(compare(asked, preparePerson(personRecordFromPatient(patient))), weights);
    const grade: MatchGrade | undefined =
      score >= thresholds.autoLink ? 'certain' : score >= thresholds.review ? 'probable' : score >= thresholds.review - POSSIBLE_MARGIN ? 'possible' : undefined;
    if (!grade) continue;
    // A logistic curve centred on the review threshold: 0.5 there, near 1 at auto-link.
    const probability = 1 / (1 + 2 ** ((thresholds.review - score) / 2));
    matches.push({ patient, score, probability: Math.round(probability * 1000) / 1000, grade });
  }
  return matches.sort((a, b) => b.score - a.score);
}
