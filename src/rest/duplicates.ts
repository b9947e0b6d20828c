import type { Extension, Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { allOk, badRequest, notFound, unprocessable } from '../fhir/outcome.js';
import { parseReference } from '../fhir/search-parameters.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { evidenceText, type Translated } from '../identity/evidence.js';
import { DEFAULT_THRESHOLDS } from '../identity/matcher.js';
import { mergePatients } from '../identity/patient-merge.js';
import type { DuplicateCandidate } from '../store/duplicate-candidates.js';
import type { Repository } from '../store/repository.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { actorOf, output, parametersOf, requireIdentityAdministration } from './merge.js';
import { parseStored } from '../store/stored-json.js';

/**
 * The duplicates work list (Densaulyq operations on Patient; the batch finder fills it, see
 * duplicate-scan.ts):
 * - `GET Patient/$duplicates?_count=20[&_cursor=…]` — open pairs, highest score first, as
 *   Parameters: one `candidate` per pair (two `patient` references, `score`, `grade` — `certain`
 *   at or above the auto-link threshold, else `probable`, as in the match-grade extension —
 *   `found`, and per field an `evidence` part with `field`, `level`, `weight` and `text`, the
 *   text in English with Kazakh and Russian translations); `next` carries the next page's cursor;
 * - `POST Patient/$confirm-duplicate` with two `patient` references and optionally
 *   `target-patient` (which survives): merges the pair as `$merge` does and answers the same;
 * - `POST Patient/$reject-duplicate` with two `patient` references: the pair is never proposed again.
 */
const TRANSLATION = 'http://hl7.org/fhir/StructureDefinition/translation';
const DEFAULT_COUNT = 20;
const MAX_COUNT = 100;

export async function duplicatesOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  requireIdentityAdministration(context, '$duplicates');
  const countText = request.query.find(([k]) => k === '_count')?.[1];
  if (countText !== undefined && !/^\d+$/.test(countText)) throw badRequest(`_count must be a non-negative integer`, '_count');
  const count = Math.min(countText === undefined ? DEFAULT_COUNT : Number(countText), MAX_COUNT);
  const cursor = request.query.find(([k]) => k === '_cursor')?.[1];
  const unknown = request.query.find(([k]) => !['_count', '_cursor', '_format'].includes(k));
  if (unknown) throw badRequest(`Unknown $duplicates parameter "${unknown[0]}"`, unknown[0]);
  const page = await context.repo.duplicates.open({ count, ...(cursor ? { after: decodeCursor(cursor) } : {}) });
  const parameter: ParametersParameter[] = page.candidates.map(candidateParameter);
  const last = page.candidates[page.candidates.length - 1];
  if (page.more && last) parameter.push({ name: 'next', valueString: encodeCursor(last) });
  const result: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, resource: result };
}

export async function confirmDuplicateOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  requireIdentityAdministration(context, '$confirm-duplicate');
  const input = parametersOf(request, '$confirm-duplicate');
  const [x, y] = pairOf(input);
  const chosen = input.parameter?.find((p) => p.name === 'target-patient')?.valueReference?.reference;
  const actor = actorOf(context);
  // The pair is found open, merged and confirmed in one transaction.
  const { source, target, merged } = await context.repo.transaction(async (repo) => {
    const candidate = await openCandidate(repo, x, y);
    const target = chosen ? parseReference(chosen).id : await survivorOf(repo, candidate);
    if (target !== candidate.patientA && target !== candidate.patientB) throw badRequest(`target-patient must be one of the pair`, 'target-patient');
    const source = target === candidate.patientA ? candidate.patientB : candidate.patientA;
    return { source, target, merged: await mergePatients(repo, { source, target, agent: actor.who, decidedBy: actor.id }) };
  });
  const text = `Confirmed: Patient/${source} merged into Patient/${target}, ${merged.moved.length} resources moved, recorded as Provenance/${merged.record!.id}`;
  return { status: 200, resource: output(input, text, merged.target) };
}

export async function rejectDuplicateOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  requireIdentityAdministration(context, '$reject-duplicate');
  const input = parametersOf(request, '$reject-duplicate');
  const [x, y] = pairOf(input);
  await context.repo.transaction(async (repo) => {
    await openCandidate(repo, x, y);
    await repo.duplicates.decide(x, y, 'rejected', actorOf(context).id);
  });
  return { status: 200, resource: allOk(`Patient/${x} and Patient/${y} are not one person; the pair will not be proposed again`) };
}

function candidateParameter(candidate: DuplicateCandidate): ParametersParameter {
  const grade = candidate.score >= DEFAULT_THRESHOLDS.autoLink ? 'certain' : 'probable';
  return {
    name: 'candidate',
    part: [
      { name: 'patient', valueReference: { reference: `Patient/${candidate.patientA}` } },
      { name: 'patient', valueReference: { reference: `Patient/${candidate.patientB}` } },
      { name: 'score', valueDecimal: candidate.score },
      { name: 'grade', valueCode: grade },
      { name: 'found', valueInstant: candidate.foundAt },
      ...candidate.evidence.map(({ field, level, weight }) => ({
        name: 'evidence',
        part: [
          { name: 'field', valueCode: field },
          { name: 'level', valueCode: level },
          { name: 'weight', valueDecimal: weight },
          translated('text', evidenceText(field, level)),
        ],
      })),
    ],
  };
}

/** An English valueString with its Kazakh and Russian translations (https://hl7.org/fhir/R4/extension-translation.html). */
function translated(name: string, text: Translated): ParametersParameter {
  const translation = (lang: 'kk' | 'ru'): Extension => ({
    url: TRANSLATION,
    extension: [
      { url: 'lang', valueCode: lang },
      { url: 'content', valueString: text[lang] },
    ],
  });
  // Medplum's ParametersParameter has no `_valueString` (the extensions of the primitive).
  return { name, valueString: text.en, _valueString: { extension: [translation('kk'), translation('ru')] } } as ParametersParameter;
}

function pairOf(input: Parameters): [string, string] {
  const ids = (input.parameter ?? [])
    .filter((p) => p.name === 'patient')
    .map((p) => parseReference(p.valueReference?.reference ?? ''))
    .flatMap((target) => (target.type === 'Patient' && target.id ? [target.id] : []));
  if (ids.length !== 2 || ids[0] === ids[1]) throw badRequest(`Name the pair with two different "patient" references`, 'patient');
  return [ids[0], ids[1]];
}

async function openCandidate(repo: Repository, x: string, y: string): Promise<DuplicateCandidate> {
  const candidate = await repo.duplicates.find(x, y);
  if (!candidate) throw notFound(`Patient/${x} and Patient/${y} are not on the duplicates work list`);
  if (candidate.status !== 'open') {
    throw unprocessable([{ severity: 'error', code: 'business-rule', details: { text: `The pair was already ${candidate.status}` }, expression: ['patient'] }]);
  }
  return candidate;
}

/** Without a choice, the record holding the IIN survives; when both or neither do, the first of the pair. */
async function survivorOf(repo: Repository, candidate: DuplicateCandidate): Promise<string> {
  const hasIin = async (id: string) =>
    ((parseStored<Patient>((await repo.read('Patient', id)))).identifier ?? []).some((i) => i.system === IIN_SYSTEM);
  const [a, b] = [await hasIin(candidate.patientA), await hasIin(candidate.patientB)];
  return b && !a ? candidate.patientB : candidate.patientA;
}

function encodeCursor(candidate: DuplicateCandidate): string {
  return Buffer.from(JSON.stringify([candidate.score, candidate.patientA, candidate.patientB])).toString('base64url');
}

function decodeCursor(cursor: string): { score: number; a: string; b: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    const [score, a, b]: unknown[] = Array.isArray(parsed) ? parsed : [];
    if (typeof score === 'number' && typeof a === 'string' && typeof b === 'string') return { score, a, b };
  } catch {
    // falls through to the 400 below
  }
  throw badRequest(`Invalid _cursor`, '_cursor');
}
