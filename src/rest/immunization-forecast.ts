import type { Immunization, Parameters, ParametersParameter, Patient, Reference } from '@medplum/fhirtypes';
import { pickLocale } from '../access/i18n.js';
import { isJsonObject } from '../fhir/json.js';
import { badRequest } from '../fhir/outcome.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { assertValid } from '../fhir/validate.js';
import { type ForecastPatient, fullDate, immunizationForecast } from '../passport/immunization-forecast.js';
import { dayNumber, isoDay } from '../passport/immunization-schedule.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { parametersBody } from './body.js';
import type { AnyLevelParams, FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/** The ImmDS forecast operation's canonical URL (ImmDS 1.0.0), the definition its routes name. */
export const IMMDS_FORECAST_OPERATION = 'http://hl7.org/fhir/us/immds/OperationDefinition/ImmDSForecastOperation';

/** The inputs `$immds-forecast` takes (its served OperationDefinition lists these). */
const INPUTS: ReadonlySet<string> = new Set(['assessmentDate', 'patient', 'immunization']);

/** How many Immunizations one search page reads; a record is read page by page to its end. */
const PAGE = 1000;

/** Kazakhstan has kept one time zone, UTC+5, since 1 March 2024: "today" for a forecast is the date there. */
const KAZAKHSTAN_OFFSET_MS = 5 * 3_600_000;

/**
 * `$immds-forecast` (https://hl7.org/fhir/us/immds/OperationDefinition-ImmDSForecastOperation.html):
 * what is given, due, overdue and coming of Kazakhstan's national calendar on `assessmentDate`
 * (default: today in Kazakhstan), as a Parameters with the `recommendation` (an
 * ImmunizationRecommendation, not stored) and an `evaluation` per dose on record.
 *
 * `Patient/[id]/$immds-forecast`, by GET or POST, reads the Patient and their completed
 * Immunizations through the door: who may not see the patient gets the read's 404, and a dose
 * consent hides from the caller is not in their forecast. `Patient/$immds-forecast` and
 * `$immds-forecast`, by POST, forecast for the `patient` and `immunization` resources sent, as
 * ImmDS defines it, reading nothing. Texts are in the language of Accept-Language (kk, ru, en;
 * Kazakh by default).
 */
export async function immdsForecastOperation(request: FhirRequest, params: AnyLevelParams, context: InteractionContext): Promise<FhirResponse> {
  const locale = pickLocale(undefined, request.headers.acceptLanguage);
  const input = params.id === undefined ? sentInput(request) : await recordInput(context.repo, params.id, instanceDate(request));
  const today = kazakhstanToday();
  const assessmentDate = input.assessmentDate?.value ?? today;
  if (input.patient.birthDate > today) throw badRequest(`The birth date ${input.patient.birthDate} is in the future`, input.birthDatePath);
  if (input.patient.birthDate > assessmentDate) {
    throw badRequest(`The assessment date ${assessmentDate} is before the birth date ${input.patient.birthDate}`, input.assessmentDate?.path);
  }
  const forecast = immunizationForecast({ patient: input.patient, immunizations: input.immunizations, assessmentDate, locale });
  const resource: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'recommendation', resource: forecast.recommendation },
      ...forecast.evaluations.map((evaluation): ParametersParameter => ({ name: 'evaluation', resource: evaluation })),
    ],
  };
  return { status: 200, resource };
}

/** A date parameter as given, and where it was. */
interface GivenDate {
  value: string;
  path: string;
}

interface Input {
  assessmentDate?: GivenDate;
  patient: ForecastPatient;
  /** Where a birth date in the future is pointed at. */
  birthDatePath: string;
  immunizations: Immunization[];
}

/**
 * `assessmentDate` from the query, at every level; any other query parameter is refused (the
 * patient and history are the record's, or resources sent in the body).
 */
function queryDate(request: FhirRequest): GivenDate | undefined {
  let assessmentDate: GivenDate | undefined;
  for (const [name, value] of request.query) {
    if (name !== 'assessmentDate') throw badRequest(`Unknown $immds-forecast query parameter "${name}"${INPUTS.has(name) ? `: ${name} is a resource, sent in a Parameters body` : ''}`, name);
    if (assessmentDate !== undefined) throw badRequest(`$immds-forecast takes one assessmentDate`, name);
    assessmentDate = { value: date(value, name), path: name };
  }
  return assessmentDate;
}

/** The body's `assessmentDate`, one at most, and none beside the query's. */
function bodyDate(parameter: ParametersParameter, path: string, given: GivenDate | undefined): GivenDate {
  if (given !== undefined) throw badRequest(`$immds-forecast takes one assessmentDate`, path);
  return { value: date(parameter.valueDate, `${path}.valueDate`), path: `${path}.valueDate` };
}

/** The instance-level forms take only `assessmentDate`: the patient is the one in the URL, the history their record. */
function instanceDate(request: FhirRequest): GivenDate | undefined {
  let assessmentDate = queryDate(request);
  if (request.method !== 'POST' || request.body === undefined) return assessmentDate;
  for (const [i, parameter] of bodyParameters(request).entries()) {
    const path = `Parameters.parameter[${i}]`;
    if (parameter.name !== 'assessmentDate') {
      throw badRequest(`Patient/[id]/$immds-forecast takes only assessmentDate: the patient and history are those of the record in the URL, not "${parameter.name}"`, `${path}.name`);
    }
    assessmentDate = bodyDate(parameter, path, assessmentDate);
  }
  return assessmentDate;
}

/** The patient and their completed Immunizations, read through the caller's door. */
async function recordInput(repo: Repository, id: string, assessmentDate: GivenDate | undefined): Promise<Input> {
  const patient = parseStored<Patient>(await repo.read('Patient', id));
  const immunizations: Immunization[] = [];
  const search = parseSearchRequest('Immunization', [['status', 'completed'], ['_count', String(PAGE)]]);
  search.compartments = [id];
  for (;;) {
    const page = await repo.search(search);
    immunizations.push(...page.entries.map((stored) => parseStored<Immunization>(stored)));
    if (!page.nextCursor) break;
    search.cursor = page.nextCursor;
  }
  return {
    ...(assessmentDate ? { assessmentDate } : {}),
    patient: forecastPatient(patient, { reference: `Patient/${id}` }, 'Patient.birthDate'),
    birthDatePath: 'Patient.birthDate',
    immunizations,
  };
}

/** The type- and system-level form: `patient` and `immunization` resources in a Parameters body, as ImmDS sends them. */
function sentInput(request: FhirRequest): Input {
  let assessmentDate = queryDate(request);
  let patient: { resource: Patient; path: string } | undefined;
  const immunizations: { resource: Immunization; path: string }[] = [];
  for (const [i, parameter] of bodyParameters(request).entries()) {
    const path = `Parameters.parameter[${i}]`;
    switch (parameter.name) {
      case 'assessmentDate':
        assessmentDate = bodyDate(parameter, path, assessmentDate);
        break;
      case 'patient':
        if (patient) throw badRequest(`$immds-forecast takes one patient`, path);
        patient = { resource: resourceOf(parameter, 'Patient', path), path: `${path}.resource` };
        break;
      case 'immunization':
        immunizations.push({ resource: resourceOf(parameter, 'Immunization', path), path: `${path}.resource` });
        break;
      default:
        throw badRequest(`Unknown $immds-forecast parameter "${parameter.name}"`, `${path}.name`);
    }
  }
  if (!patient) throw badRequest(`$immds-forecast needs the patient (a Patient resource) when no patient id is in the URL`, `Parameters.parameter.where(name='patient')`);
  const id = patient.resource.id;
  for (const { resource, path } of immunizations) {
    const subject = resource.patient?.reference;
    if (id !== undefined && subject !== undefined && subject !== `Patient/${id}`) {
      throw badRequest(`The immunization is of ${subject}, not of the patient sent (Patient/${id})`, `${path}.patient`);
    }
  }
  const identifier = patient.resource.identifier?.[0];
  const reference: Reference<Patient> = id !== undefined ? { reference: `Patient/${id}` } : identifier ? { identifier } : { display: 'The patient sent' };
  return {
    ...(assessmentDate ? { assessmentDate } : {}),
    patient: forecastPatient(patient.resource, reference, `${patient.path}.birthDate`),
    birthDatePath: `${patient.path}.birthDate`,
    immunizations: immunizations.map(({ resource }) => resource),
  };
}

/**
 * The parameters of a POSTed Parameters, each a named object; what each holds is checked as it is
 * read, a resource against R4 (a 422 when invalid), so a malformed date is the 400 it is here.
 */
function bodyParameters(request: FhirRequest): ParametersParameter[] {
  // Typed as R4 says, but JSON from the wire until checked here.
  const list = parametersBody(request, `POST $immds-forecast takes a Parameters resource`, 'Parameters').parameter ?? [];
  if (!Array.isArray(list)) throw badRequest(`Parameters.parameter is a list`, 'Parameters.parameter');
  for (const [i, parameter] of list.entries()) {
    if (!isJsonObject(parameter) || typeof parameter.name !== 'string') throw badRequest(`Each $immds-forecast parameter is an object with a name`, `Parameters.parameter[${i}]`);
  }
  return list;
}

/** The resource of a parameter, of the type ImmDS says, valid against R4. */
function resourceOf<T extends Patient | Immunization>(parameter: ParametersParameter, resourceType: T['resourceType'], path: string): T {
  const resource: unknown = parameter.resource;
  if (!isJsonObject(resource) || resource.resourceType !== resourceType) {
    const sent = isJsonObject(resource) && typeof resource.resourceType === 'string' ? `a ${resource.resourceType}` : 'no resource';
    throw badRequest(`The ${parameter.name} parameter holds a ${resourceType} resource, not ${sent}`, `${path}.resource`);
  }
  assertValid(resource);
  return resource as T;
}

/** What the forecast needs of a Patient: a whole birth date (ImmDS's Patient profile requires it). */
function forecastPatient(patient: Patient, reference: Reference<Patient>, birthDatePath: string): ForecastPatient {
  const birthDate = patient.birthDate;
  if (birthDate === undefined || fullDate(birthDate) !== birthDate || !isCalendarDate(birthDate)) {
    throw badRequest(`A forecast needs the patient's full birth date (YYYY-MM-DD), not ${birthDate === undefined ? 'none' : `"${birthDate}"`}`, birthDatePath);
  }
  return { reference, birthDate, ...(patient.gender ? { gender: patient.gender } : {}) };
}

/** A date parameter: a whole calendar date, `YYYY-MM-DD`. */
function date(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || !isCalendarDate(value)) {
    throw badRequest(`assessmentDate is a date, YYYY-MM-DD, not ${typeof value === 'string' ? `"${value}"` : 'missing'}`, path);
  }
  return value;
}

function isCalendarDate(value: string): boolean {
  return isoDay(dayNumber(value)) === value;
}

function kazakhstanToday(): string {
  return new Date(Date.now() + KAZAKHSTAN_OFFSET_MS).toISOString().slice(0, 10);
}
