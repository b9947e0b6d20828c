import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type Locale, type MessageKey, message } from './messages.js';

type IssueCode = OperationOutcomeIssue['code'];
export type JsonObject = Record<string, unknown>;

/**
 * A resource being walked. Contained resources share their container's root: local references
 * (`#id`) resolve among the root's contained resources, and the root checks at its end that each
 * of them is referenced (dom-3, https://hl7.org/fhir/R4/domainresource.html#invs).
 */
interface ResourceFrame {
  readonly resource: JsonObject;
  readonly root: RootFrame;
  /** Index in the root's `contained`, or -1 for the root itself. */
  readonly containedIndex: number;
}

export interface RootFrame {
  readonly resource: JsonObject;
  /** Resource type of each contained resource by id, read when the first local reference needs it. */
  containedTypes?: Map<string, string>;
  /** Every `#…` reference, canonical or uri met anywhere in the resource. */
  localReferences?: Set<string>;
  /** Indexes of contained resources that refer to their container with `#`. */
  referToContainer?: Set<number>;
}

/**
 * The state of one validation: the path from the resource root as a stack of segments (joined
 * only when something is reported), the issues found, the language of their texts, and the
 * resource being walked.
 */
export class Walk {
  readonly issues: OperationOutcomeIssue[] = [];
  readonly path: (string | number)[] = [];
  frame: ResourceFrame | undefined;
  /** A profile was applied on top of the base definitions, so issues of the base may repeat. */
  profiled = false;
  /** The object or array holding the primitive being checked, where the text of its number is kept (src/fhir/json.ts). */
  holder: object | undefined;

  constructor(readonly locale: Locale) {}

  report(severity: OperationOutcomeIssue['severity'], code: IssueCode, key: MessageKey, params?: Readonly<Record<string, string | number>>): void {
    this.issues.push({ severity, code, details: { text: message(this.locale, key, params) }, expression: [this.expression()] });
  }

  error(code: IssueCode, key: MessageKey, params?: Readonly<Record<string, string | number>>): void {
    this.report('error', code, key, params);
  }

  /** Reports at a child of the current path, e.g. a missing required element. */
  errorAt(segment: string | number, code: IssueCode, key: MessageKey, params?: Readonly<Record<string, string | number>>): void {
    this.path.push(segment);
    this.report('error', code, key, params);
    this.path.pop();
  }

  /** `['Patient', 'name', 0, 'given']` → `Patient.name[0].given`. */
  expression(): string {
    let expression = '';
    for (const segment of this.path) {
      expression += typeof segment === 'number' ? `[${segment}]` : expression ? `.${segment}` : segment;
    }
    return expression;
  }
}
