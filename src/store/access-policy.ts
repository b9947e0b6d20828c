import type { Resource } from '@medplum/fhirtypes';
import type { SearchRequest } from '../fhir/search-request.js';
import type { SqlClient } from './driver.js';
import type { SqlParams } from './sql-params.js';

/** SMART v2 permission letters: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** What an audit record says was done (https://profiles.ihe.net/ITI/BALP/). */
export interface AuditNote {
  /** AuditEvent.action: C, R, U, D or E (execute, for operations). */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  /** The FHIR restful interaction (`read`, `search-type`…) or operation (`$everything`). */
  interaction: string;
  /** When it was done (ISO instant): AuditEvent.recorded and the audit row's own column. */
  recorded: string;
  /** What was touched, as `Type/id` references. */
  entities?: string[];
  /** A search's query string. */
  query?: string;
  /** The reason stated for break-glass. */
  reason?: string;
}

/** A write the door is asked about: the resource as it will be stored, and the version it replaces. */
export interface WriteCheck {
  resourceType: string;
  id: string;
  /** The new version's patient-compartment key. */
  compartment: string | null;
  resource: Resource;
  /** The current version, when the write replaces or deletes one. */
  current?: { compartment: string | null; author: string | null };
  /** Care relationships the written resource itself creates, as `party` values per patient. */
  establishes: { patient: string; party: string }[];
}

/**
 * The access rules a Repository is bound to (the "one door"): the Repository asks them before
 * every read and write and folds their SQL condition into every query it runs, so no route,
 * operation, include, chain, count, history or export sees a row the caller may not see.
 * Implemented by src/access/door.ts; the store only knows this interface.
 */
export interface AccessPolicy {
  /** No condition and no checks: the platform itself, or an administrator granted clinical access. */
  readonly unrestricted: boolean;
  /** Counts only, small ones suppressed (the analyst role): no resource leaves the store. */
  readonly aggregateOnly: boolean;
  /** True when this caller's accesses are audited. */
  readonly audits: boolean;
  /** The party recorded as the author of what this caller creates (`Organization/x`, `Patient/y`). */
  readonly author: string | null;
  /** Throws 403 when a search is not one this caller may run (the analyst's allowed parameters). */
  checkSearch(request: SearchRequest): void;
  /** Throws 403 when neither the role nor the granted scopes allow `permission` on `resourceType`. */
  require(permission: Permission, resourceType: string): void;
  /**
   * The SQL condition under which the row aliased `alias` (of `resource` or `resource_version`:
   * columns resource_type, id, compartment, author, security) may be seen, or undefined for
   * every row. `resourceType` is given when the query is about one type.
   */
  visible(alias: string, params: SqlParams, resourceType?: string): string | undefined;
  /** Throws (403, or 404 for what the caller may not know exists) when the write is not allowed. */
  checkWrite(client: SqlClient, write: WriteCheck): Promise<void>;
  /**
   * The AuditEvent JSON recording `note` for one patient, or undefined when this caller is not
   * audited. `patient` may be a placeholder that SQL replaces with the row's compartment.
   */
  auditPayload(note: AuditNote, patient: string, breakGlass: boolean): string | undefined;
  /** SQL true when the caller reached the patient `patientSql` by break-glass (flagged in the audit), or undefined. */
  breakGlass(patientSql: string, params: SqlParams): string | undefined;
}
