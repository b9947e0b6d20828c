import { randomBytes } from 'node:crypto';
import type { SqlClient } from '../store/driver.js';
import { getRecord, putRecord } from './adapter.js';

/**
 * SMART launch context (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
 *
 * EHR launch: the EHR (or any staff system) creates a context with `POST /auth/launch` and
 * passes its opaque id to the app as `launch`; the app sends it back on the authorization
 * request and the context comes out in the token response (`patient`, `encounter`).
 * Standalone launch: `launch/patient` asks the server to choose a patient. A citizen gets their
 * own Patient; staff type the Patient id on the consent page.
 * Either way the chosen context is bound to the grant, so refreshed tokens keep it.
 */
export interface LaunchContext {
  patient?: string;
  encounter?: string;
  /** The SMART `need_patient_banner` hint. */
  needPatientBanner?: boolean;
}

/** How long an EHR launch id stays usable. */
export const LAUNCH_TTL_SECONDS = 10 * 60;
const GRANT_CONTEXT = 'GrantLaunchContext';
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isResourceId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

export async function createLaunch(db: SqlClient, context: LaunchContext, createdBy: string): Promise<string> {
  if (context.patient !== undefined && !isResourceId(context.patient)) throw new Error('patient must be a resource id');
  if (context.encounter !== undefined && !isResourceId(context.encounter)) throw new Error('encounter must be a resource id');
  const id = randomBytes(18).toString('base64url');
  await db.query(`INSERT INTO smart_launch (id, context, created_by, expires_at) VALUES ($1, $2::jsonb, $3, now() + make_interval(secs => $4::integer))`, [
    id,
    JSON.stringify(context),
    createdBy,
    LAUNCH_TTL_SECONDS,
  ]);
  return id;
}

export async function findLaunch(db: SqlClient, id: string): Promise<LaunchContext | undefined> {
  if (typeof id !== 'string' || id.length > 100) return undefined;
  const rows = await db.query<{ context: LaunchContext | string }>(`SELECT context FROM smart_launch WHERE id = $1 AND expires_at > now()`, [id]);
  const row = rows[0];
  if (!row) return undefined;
  return typeof row.context === 'string' ? (JSON.parse(row.context) as LaunchContext) : row.context;
}

export async function bindContextToGrant(db: SqlClient, grantId: string, context: LaunchContext, ttlSeconds: number): Promise<void> {
  await putRecord(db, GRANT_CONTEXT, grantId, context, ttlSeconds, grantId);
}

export async function contextOfGrant(db: SqlClient, grantId: string | undefined): Promise<LaunchContext | undefined> {
  if (!grantId) return undefined;
  return getRecord<LaunchContext>(db, GRANT_CONTEXT, grantId);
}
