import { randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Database, SqlClient } from '../store/driver.js';

/**
 * Sign-in accounts: citizens and staff. Local accounts carry an argon2id password hash (demo and
 * small sites); accounts signed in through the upstream identity provider (eGov ID) carry its
 * subject instead. An account points at its FHIR resource (`Patient/…`, `Practitioner/…`),
 * which becomes the `fhirUser` of its tokens. An `organization-administrator` approves the systems
 * acting for their organization and reviews its self-declared access; `registry` is the national
 * registries' own role (identity, primary-care attachment, civil relationships).
 */
export const ROLES = ['citizen', 'clinician', 'public-health', 'analyst', 'administrator', 'organization-administrator', 'registry'] as const;
export type Role = (typeof ROLES)[number];

export interface AppUser {
  id: string;
  username: string;
  role: Role;
  /** Relative reference to the user's FHIR resource: `Patient/123`, `Practitioner/9`. */
  fhirUser?: string;
  /** Id of the Organization the user acts for (staff). */
  organization?: string;
  region?: string;
  upstreamSubject?: string;
  /** An administrator granted access to clinical data (audited like anyone's). */
  clinicalAccess?: boolean;
}

export interface NewUser extends Omit<AppUser, 'id'> {
  /** Omit for accounts that sign in only through the upstream identity provider. */
  password?: string;
}

/** After this many wrong passwords in a row the account is locked for `lockSeconds`. */
export interface LockoutPolicy {
  maxAttempts: number;
  lockSeconds: number;
}
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxAttempts: 5, lockSeconds: 15 * 60 };

interface UserRow {
  id: string;
  username: string;
  role: Role;
  fhir_user: string | null;
  organization: string | null;
  region: string | null;
  upstream_subject: string | null;
  clinical_access: boolean;
  password_hash?: string | null;
  locked?: boolean;
}

const COLUMNS = `id, username, role, fhir_user, organization, region, upstream_subject, clinical_access`;
const FHIR_USER = /^(Patient|Practitioner|PractitionerRole|RelatedPerson|Person)\/[A-Za-z0-9\-.]{1,64}$/;

export async function addUser(db: SqlClient, user: NewUser): Promise<AppUser> {
  if (!ROLES.includes(user.role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  if (!/^[\p{L}\p{N}._@-]{1,64}$/u.test(user.username)) throw new Error('username: 1 to 64 letters, digits, . _ @ -');
  if (user.fhirUser !== undefined && !FHIR_USER.test(user.fhirUser)) throw new Error('fhirUser must be a relative reference such as Patient/123 or Practitioner/9');
  if (user.role === 'citizen' && user.fhirUser && !user.fhirUser.startsWith('Patient/') && !user.fhirUser.startsWith('RelatedPerson/')) {
    throw new Error('a citizen is a Patient or a RelatedPerson');
  }
  if (user.password !== undefined && user.password.length < 8) throw new Error('password: at least 8 characters');
  if (user.clinicalAccess && user.role !== 'administrator') throw new Error('clinical access is granted to administrators only');
  const passwordHash = user.password === undefined ? null : await hash(user.password);
  const rows = await db.query<UserRow>(
    `INSERT INTO app_user (id, username, password_hash, role, fhir_user, organization, region, upstream_subject, clinical_access)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [
      randomUUID(),
      user.username,
      passwordHash,
      user.role,
      user.fhirUser ?? null,
      user.organization ?? null,
      user.region ?? null,
      user.upstreamSubject ?? null,
      user.clinicalAccess ?? false,
    ],
  );
  return toUser(rows[0]!);
}

export async function findUserById(db: SqlClient, id: string): Promise<AppUser | undefined> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM app_user WHERE id = $1`, [id]);
  return rows[0] && toUser(rows[0]);
}

export async function findUserByUsername(db: SqlClient, username: string): Promise<AppUser | undefined> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM app_user WHERE username = $1`, [username]);
  return rows[0] && toUser(rows[0]);
}

export async function findUserByUpstreamSubject(db: SqlClient, subject: string): Promise<AppUser | undefined> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM app_user WHERE upstream_subject = $1`, [subject]);
  return rows[0] && toUser(rows[0]);
}

export type PasswordCheck = { ok: true; user: AppUser } | { ok: false; reason: 'invalid' | 'locked' };

/**
 * Checks a password with brute-force lockout. An unknown username costs the same argon2
 * verification as a known one, so response time does not reveal which accounts exist.
 * A locked account is refused before its password is looked at.
 */
export async function verifyPassword(db: Database, username: string, password: string, policy: LockoutPolicy = DEFAULT_LOCKOUT): Promise<PasswordCheck> {
  // The attempt is counted before the slow hash check, in the statement that tests the lock:
  // guesses sent in parallel cannot all pass the test before the first failure is recorded.
  const rows = await db.query<UserRow>(
    `UPDATE app_user SET failed_logins = failed_logins + 1,
       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3::integer) ELSE locked_until END
     WHERE username = $1 AND password_hash IS NOT NULL AND (locked_until IS NULL OR locked_until <= now())
     RETURNING ${COLUMNS}, password_hash, (locked_until IS NOT NULL AND locked_until > now()) AS locked`,
    [username, policy.maxAttempts, policy.lockSeconds],
  );
  const row = rows[0];
  if (!row) {
    const [other] = await db.query<{ locked: boolean }>(`SELECT (locked_until IS NOT NULL AND locked_until > now()) AS locked FROM app_user WHERE username = $1`, [username]);
    if (other?.locked) return { ok: false, reason: 'locked' };
    await verify(await dummyHash(), password).catch(() => false);
    return { ok: false, reason: 'invalid' };
  }
  const matches = await verify(row.password_hash!, password).catch(() => false);
  if (!matches) return { ok: false, reason: row.locked ? 'locked' : 'invalid' };
  await db.query(`UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = $1`, [row.id]);
  return { ok: true, user: toUser(row) };
}

/** Lifts a lockout (administrator action). */
export async function unlockUser(db: SqlClient, username: string): Promise<void> {
  await db.query(`UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE username = $1`, [username]);
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  return dummy;
}

function toUser(row: UserRow): AppUser {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    ...(row.fhir_user ? { fhirUser: row.fhir_user } : {}),
    ...(row.organization ? { organization: row.organization } : {}),
    ...(row.region ? { region: row.region } : {}),
    ...(row.upstream_subject ? { upstreamSubject: row.upstream_subject } : {}),
    ...(row.clinical_access ? { clinicalAccess: true } : {}),
  };
}

export interface DemoAccount {
  username: string;
  /** Shown only when the account was created by this call; undefined when it already existed. */
  password?: string;
  role: Role;
  fhirUser?: string;
  organization?: string;
}

export interface DemoAccountOptions {
  /** The demo citizen's Patient id (e.g. the first seeded patient). */
  patientId?: string;
  /** The demo clinician's Practitioner id. */
  practitionerId?: string;
  /** The Organization the demo staff act for. */
  organizationId?: string;
  region?: string;
}

/**
 * One demo sign-in per role, created once with random passwords. The passwords are returned
 * only on the call that created the accounts, for the CLI to print once; later calls return the
 * usernames without passwords.
 */
export async function ensureDemoAccounts(db: Database, options: DemoAccountOptions = {}): Promise<DemoAccount[]> {
  const region = options.region ?? 'Astana';
  const plans: Array<Omit<DemoAccount, 'password'> & { region?: string }> = [
    { username: 'demo-citizen', role: 'citizen', ...(options.patientId ? { fhirUser: `Patient/${options.patientId}` } : {}), region },
    {
      username: 'demo-clinician',
      role: 'clinician',
      ...(options.practitionerId ? { fhirUser: `Practitioner/${options.practitionerId}` } : {}),
      ...(options.organizationId ? { organization: options.organizationId } : {}),
      region,
    },
    { username: 'demo-public-health', role: 'public-health', region },
    { username: 'demo-analyst', role: 'analyst', region },
    { username: 'demo-administrator', role: 'administrator', ...(options.organizationId ? { organization: options.organizationId } : {}), region },
    // Approves the systems acting for the demo organization (POST /auth/admin/clients/ID/approve).
    {
      username: 'demo-organization-administrator',
      role: 'organization-administrator',
      ...(options.organizationId ? { organization: options.organizationId } : {}),
      region,
    },
    // The national registries' hand: attachment (Patient/ID/$attach) and civil relationships.
    { username: 'demo-registry', role: 'registry', region },
  ];
  const accounts: DemoAccount[] = [];
  for (const plan of plans) {
    const existing = await findUserByUsername(db, plan.username);
    if (existing) {
      accounts.push({ username: existing.username, role: existing.role, fhirUser: existing.fhirUser, organization: existing.organization });
      continue;
    }
    const password = randomBytes(12).toString('base64url');
    try {
      await addUser(db, { ...plan, password });
      accounts.push({ ...plan, password });
    } catch (error) {
      // Another process created it between our look-up and insert: report it without a password.
      if ((error as { code?: string }).code !== '23505') throw error;
      accounts.push({ username: plan.username, role: plan.role });
    }
  }
  return accounts;
}
