import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { CORE_INVARIANTS } from './core-invariants.js';
import type { MessageKey } from './messages.js';
import type { ConstraintModel } from './structure.js';
import type { Walk } from './walk.js';

/** Whether a constraint holds on a node: true, false, or undefined when it cannot be evaluated. */
export type InvariantTest = (node: unknown, walk: Walk) => boolean | undefined;

export interface Invariant {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly test: InvariantTest;
}

/**
 * Core invariants the walk enforces itself, with messages of their own and without evaluating
 * FHIRPath: ele-1 (no empty elements), ext-1 (an extension has a value or extensions), the
 * contained-resource rules dom-2 to dom-5, ref-1 (local references), and txt-1/txt-2 (the
 * narrative's XHTML, which R4 writes as `htmlChecks()`). Matched by expression, not key, so a
 * profile that reuses a key for another rule still has it evaluated.
 */
const ENFORCED_BY_WALK: ReadonlySet<string> = new Set([
  'hasValue() or (children().count() > id.count())',
  'hasValue() or (children().count() > id.count()) or $this is Parameters',
  'extension.exists() != value.exists()',
  'contained.contained.empty()',
  "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
  'contained.meta.security.empty()',
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
  'htmlChecks()',
]);

/**
 * Expressions fhirpath.js cannot evaluate during validation, which are skipped:
 * - `resolve()` (ctm-1, CareTeam.participant: onBehalfOf only with a Practitioner member) reads
 *   other resources, which validation does not do;
 * - `conformsTo()` and `memberOf()` need profiles and terminology at hand (none in R4 core).
 * Expressions fhirpath.js fails to compile are skipped too: among R4's there are none.
 */
const UNEVALUABLE = /\b(?:resolve|conformsTo|memberOf)\(/;

/**
 * The invariants of an element (https://hl7.org/fhir/R4/conformance-rules.html#constraints),
 * leaving out those the walk enforces itself, best-practice ones (dom-6: "a resource should have
 * narrative", a recommendation, not a rule), and those in `inherited` (a data type's own
 * invariants, which its type check evaluates). Hot ones are compiled by hand (core-invariants.ts);
 * the rest are evaluated by HL7's fhirpath.js on the R4 model, compiled on first use.
 */
export function compileInvariants(constraints: readonly ConstraintModel[], base: string, inherited?: ReadonlySet<string>): Invariant[] {
  const invariants: Invariant[] = [];
  for (const constraint of constraints) {
    const expression = constraint.expression;
    if (!expression || constraint.bestPractice || inherited?.has(constraint.key) || ENFORCED_BY_WALK.has(expression)) continue;
    const test = CORE_INVARIANTS.get(expression) ?? fhirpathTest(expression, base);
    if (test) invariants.push({ key: constraint.key, severity: constraint.severity, human: constraint.human, test });
  }
  return invariants;
}

export function checkInvariants(invariants: readonly Invariant[], node: unknown, walk: Walk): void {
  for (const invariant of invariants) {
    const holds = invariant.test(node, walk);
    if (holds === true) continue;
    const key: MessageKey = holds === false ? 'invariant' : 'invariantNotEvaluated';
    if (holds === false) walk.report(invariant.severity, 'invariant', key, { key: invariant.key, human: invariant.human });
    else walk.report('information', 'informational', key, { key: invariant.key, reason: invariant.human });
  }
}

const ignoreTrace = (): void => undefined;

/**
 * An invariant holds when its expression evaluates to exactly `true`: false, empty (e.g. a
 * comparison of dates of different precision) and anything else fail, as in HL7's validator.
 */
function fhirpathTest(expression: string, base: string): InvariantTest | undefined {
  if (UNEVALUABLE.test(expression)) return undefined;
  let compiled: ((resource: unknown, context: Record<string, unknown>) => unknown[]) | undefined;
  let broken = false;
  return (node, walk) => {
    if (broken) return undefined;
    try {
      compiled ??= fhirpath.compile({ base, expression }, r4, { traceFn: ignoreTrace }) as unknown as typeof compiled;
    } catch {
      broken = true;
      return undefined;
    }
    const frame = walk.frame;
    try {
      const result = compiled!(node, { resource: frame?.resource, rootResource: frame?.root.resource });
      return result.length === 1 && result[0] === true;
    } catch {
      return undefined;
    }
  };
}
