import type { Database } from './driver.js';
import { AGGREGATE_SECRET_MIGRATION } from './aggregate-count.js';
import { IDENTITY_MIGRATION } from './duplicate-candidates.js';
import { APPENDER_CHAINS, GENESIS_PREFIX, TRANSACTION_CHAINS, sealChainsSql, withMigrationKey } from './audit-chain.js';
import type { AuditKey } from './audit-key.js';
import { ACCESS_CHANNEL } from './access-notifications.js';
import { DICOM_INDEX_MIGRATION } from './dicom-index.js';
import { splitStatements } from './sql-statements.js';
import { SUBSCRIPTION_COUNTER_MIGRATION, SUBSCRIPTION_MIGRATION, SUBSCRIPTION_NUMBERING_MIGRATION } from './subscriptions.js';

/**
 * Schema changes, applied in order on start. Never edit a shipped migration: add the next one.
 *
 * Layout: `resource` holds the current version of each resource (its JSON as served, so a read
 * returns stored text without re-serializing), `resource_version` every version including the
 * current one. `compartment` is the patient-compartment key (the Patient id) on every row: the
 * key of the access filter, of $everything, and of hash partitioning / Citus distribution.
 * Search indexes live in one table per search-parameter type, keyed by (resource_type, id),
 * and are rewritten in the same transaction as the resource.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE resource (
    resource_type text NOT NULL,
    id text NOT NULL,
    version_id bigint NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    compartment text,
    content text NOT NULL,
    PRIMARY KEY (resource_type, id)
  );
  CREATE INDEX resource_compartment ON resource (compartment, resource_type) WHERE compartment IS NOT NULL;
  CREATE INDEX resource_type_updated ON resource (resource_type, last_updated, id);

  CREATE TABLE resource_version (
    resource_type text NOT NULL,
    id text NOT NULL,
    version_id bigint NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    compartment text,
    method text NOT NULL,
    content text NOT NULL,
    PRIMARY KEY (resource_type, id, version_id)
  );
  CREATE INDEX resource_version_updated ON resource_version (last_updated);
  CREATE INDEX resource_version_type_updated ON resource_version (resource_type, last_updated);

  CREATE TABLE search_token (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
    system text, value text, text_value text
  );
  CREATE INDEX search_token_value ON search_token (resource_type, code, value, system);
  CREATE INDEX search_token_owner ON search_token (resource_type, id);

  CREATE TABLE search_string (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
    value text NOT NULL, normalized text NOT NULL
  );
  CREATE INDEX search_string_value ON search_string (resource_type, code, normalized text_pattern_ops);
  CREATE INDEX search_string_owner ON search_string (resource_type, id);

  CREATE TABLE search_date (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
    low timestamptz, high timestamptz
  );
  CREATE INDEX search_date_range ON search_date (resource_type, code, low, high);
  CREATE INDEX search_date_owner ON search_date (resource_type, id);

  CREATE TABLE search_number (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
    low numeric, high numeric, system text, unit text
  );
  CREATE INDEX search_number_value ON search_number (resource_type, code, low, high);
  CREATE INDEX search_number_owner ON search_number (resource_type, id);

  CREATE TABLE search_uri (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, value text NOT NULL
  );
  CREATE INDEX search_uri_value ON search_uri (resource_type, code, value);
  CREATE INDEX search_uri_owner ON search_uri (resource_type, id);

  CREATE TABLE search_reference (
    resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
    target_type text, target_id text, reference text NOT NULL
  );
  CREATE INDEX search_reference_target ON search_reference (resource_type, code, target_id, target_type);
  CREATE INDEX search_reference_reverse ON search_reference (target_type, target_id);
  CREATE INDEX search_reference_owner ON search_reference (resource_type, id);
  `,
  `
  CREATE TABLE bulk_job (
    id text PRIMARY KEY,
    kind text NOT NULL,
    status text NOT NULL,
    request text NOT NULL,
    parameters text NOT NULL,
    transaction_time timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    progress text,
    error text
  );
  CREATE TABLE bulk_output (
    job_id text NOT NULL REFERENCES bulk_job (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    resource_type text NOT NULL,
    count integer NOT NULL,
    content text NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  `,
  `
  CREATE TABLE search_text (
    resource_type text NOT NULL,
    id text NOT NULL,
    narrative text[] NOT NULL,
    content text[] NOT NULL
  );
  CREATE INDEX search_text_owner ON search_text (resource_type, id);
  CREATE INDEX search_text_narrative ON search_text USING gin (narrative);
  CREATE INDEX search_text_content ON search_text USING gin (content);
  `,
  // Access (src/access): the OAuth 2.0 / OpenID Connect authorization server's state.
  // oauth_payload holds oidc-provider's models (sessions, interactions, codes, grants, refresh
  // tokens, replay records) and the ids of issued JWT access tokens, so revocation reaches them.
  `
  CREATE TABLE oauth_payload (
    kind text NOT NULL,
    id text NOT NULL,
    payload jsonb NOT NULL,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX oauth_payload_grant ON oauth_payload (grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX oauth_payload_uid ON oauth_payload (uid) WHERE uid IS NOT NULL;
  CREATE INDEX oauth_payload_user_code ON oauth_payload (user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX oauth_payload_expires ON oauth_payload (expires_at);

  CREATE TABLE oauth_client (
    client_id text PRIMARY KEY,
    metadata jsonb NOT NULL,
    organization text,
    created_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE app_user (
    id text PRIMARY KEY,
    username text NOT NULL UNIQUE,
    password_hash text,
    role text NOT NULL CHECK (role IN ('citizen', 'clinician', 'public-health', 'analyst', 'administrator')),
    fhir_user text,
    organization text,
    region text,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    upstream_subject text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE signing_key (
    kid text PRIMARY KEY,
    purpose text NOT NULL,
    alg text NOT NULL,
    private_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE smart_launch (
    id text PRIMARY KEY,
    context jsonb NOT NULL,
    created_by text,
    expires_at timestamptz NOT NULL
  );
  `,
  // The value indexes carry the resource id, so the semi-joins of search, chains and counts are
  // answered by index-only scans instead of one heap visit per matching row.
  `
  DROP INDEX search_token_value;
  CREATE INDEX search_token_value ON search_token (resource_type, code, value, system) INCLUDE (id);
  DROP INDEX search_string_value;
  CREATE INDEX search_string_value ON search_string (resource_type, code, normalized text_pattern_ops) INCLUDE (id);
  DROP INDEX search_date_range;
  CREATE INDEX search_date_range ON search_date (resource_type, code, low, high) INCLUDE (id);
  DROP INDEX search_number_value;
  CREATE INDEX search_number_value ON search_number (resource_type, code, low, high) INCLUDE (id, system, unit);
  DROP INDEX search_uri_value;
  CREATE INDEX search_uri_value ON search_uri (resource_type, code, value) INCLUDE (id);
  DROP INDEX search_reference_target;
  CREATE INDEX search_reference_target ON search_reference (resource_type, code, target_id, target_type) INCLUDE (id);
  DROP INDEX search_reference_reverse;
  CREATE INDEX search_reference_reverse ON search_reference (target_type, target_id) INCLUDE (resource_type, code, id);
  DROP INDEX search_reference_owner;
  CREATE INDEX search_reference_owner ON search_reference (resource_type, id, code) INCLUDE (target_type, target_id);
  `,
  // The one door (src/access/door.ts). `author` is the party that created a resource
  // ('Organization/x', 'Patient/x'): a hidden item stays visible to it. `security` holds the
  // meta.security codes, matched against the patient's hidden categories.
  // care_relationship and consent_rule are derived from resources (Patient, Encounter,
  // EpisodeOfCare, ServiceRequest, RelatedPerson; Consent) and rewritten with them, like the
  // search indexes; the access filter reads them inside every query.
  // audit_event is an append-only hash chain per `chain` (a database session picks chain
  // pg_backend_pid() % 64, so concurrent sessions rarely wait for each other); audit_head holds
  // each chain's last link. A record (2-4 KB of JSON) stays in its row uncompressed
  // (toast_tuple_target): every audited request writes one, and compressing it cost more CPU
  // than the bytes it saved.
  `
  ALTER TABLE resource ADD COLUMN author text;
  ALTER TABLE resource ADD COLUMN security text[] NOT NULL DEFAULT '{}';
  ALTER TABLE resource_version ADD COLUMN author text;
  ALTER TABLE resource_version ADD COLUMN security text[] NOT NULL DEFAULT '{}';
  ALTER TABLE app_user ADD COLUMN clinical_access boolean NOT NULL DEFAULT false;
  ALTER TABLE bulk_job ADD COLUMN owner text;

  CREATE TABLE care_relationship (
    resource_type text NOT NULL, id text NOT NULL,
    patient text NOT NULL, party text NOT NULL, kind text NOT NULL, valid_until timestamptz
  );
  CREATE INDEX care_relationship_party ON care_relationship (party, patient) INCLUDE (valid_until);
  CREATE INDEX care_relationship_owner ON care_relationship (resource_type, id);

  CREATE TABLE consent_rule (
    resource_type text NOT NULL, id text NOT NULL,
    patient text NOT NULL, kind text NOT NULL, value text NOT NULL, valid_until timestamptz
  );
  CREATE INDEX consent_rule_patient ON consent_rule (patient, kind, value) INCLUDE (valid_until);
  CREATE INDEX consent_rule_owner ON consent_rule (resource_type, id);

  CREATE TABLE break_glass (
    id text PRIMARY KEY,
    patient text NOT NULL,
    subject text NOT NULL,
    organization text,
    reason text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX break_glass_subject ON break_glass (subject, patient, expires_at);

  CREATE TABLE audit_head (
    chain integer PRIMARY KEY,
    seq bigint NOT NULL,
    hash bytea NOT NULL
  );
  INSERT INTO audit_head (chain, seq, hash) SELECT g, 0, sha256(convert_to('densaulyq-audit-chain:' || g, 'UTF8')) FROM generate_series(0, 63) g;

  CREATE TABLE audit_event (
    chain integer NOT NULL,
    seq bigint NOT NULL,
    recorded timestamptz NOT NULL,
    patient text,
    hash bytea NOT NULL,
    payload text NOT NULL,
    PRIMARY KEY (chain, seq)
  ) WITH (toast_tuple_target = 8160);
  CREATE INDEX audit_event_patient ON audit_event (patient, recorded DESC) WHERE patient IS NOT NULL;
  `,
  // Identity (src/identity): the duplicates work list.
  IDENTITY_MIGRATION,
  // Roles of the separation of duties: the organization's own administrator, the national registries.
  `
  ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
  ALTER TABLE app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('citizen', 'clinician', 'public-health', 'analyst', 'administrator', 'organization-administrator', 'registry'));
  `,
  // Separation of duties in the client registry (src/access/clients.ts): a client acting for an
  // organization gets tokens only once that organization's administrator approves it. Clients
  // registered before this existed wait for that approval too: the platform administrator may
  // have registered them. oauth_client_event keeps every registration, approval, revocation and
  // removal, also after the client is gone.
  `
  ALTER TABLE oauth_client ADD COLUMN registration_state text NOT NULL DEFAULT 'approved';
  UPDATE oauth_client SET registration_state = 'pending' WHERE organization IS NOT NULL;
  ALTER TABLE oauth_client ALTER COLUMN registration_state DROP DEFAULT;
  ALTER TABLE oauth_client ADD CONSTRAINT oauth_client_registration_state_check
    CHECK (registration_state IN ('pending', 'approved', 'revoked') AND (organization IS NOT NULL OR registration_state = 'approved'));
  ALTER TABLE oauth_client ADD COLUMN registered_by text;
  ALTER TABLE oauth_client ADD COLUMN approved_by text;
  ALTER TABLE oauth_client ADD COLUMN approved_at timestamptz;

  CREATE TABLE oauth_client_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id text NOT NULL,
    organization text,
    action text NOT NULL CHECK (action IN ('register', 'approve', 'revoke', 'remove')),
    actor text NOT NULL,
    actor_role text NOT NULL,
    via text NOT NULL,
    recorded timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX oauth_client_event_client ON oauth_client_event (client_id, id);
  CREATE INDEX oauth_client_event_organization ON oauth_client_event (organization, id) WHERE organization IS NOT NULL;
  `,
  // The audit chain is keyed from here on (src/store/audit-chain.ts): each chain's head at this
  // point is sealed with the key the opening session holds (HMAC-SHA256 from its padded forms),
  // so the verifier knows where the plain sha256 links end.
  `
  CREATE TABLE audit_keyed_from (
    chain integer PRIMARY KEY,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    seal bytea NOT NULL
  );
  INSERT INTO audit_keyed_from (chain, seq, hash, seal)
    SELECT chain, seq, hash, sha256(decode(current_setting('densaulyq.audit_outer'), 'hex') || sha256(decode(current_setting('densaulyq.audit_inner'), 'hex')
      || convert_to('densaulyq-audit-keyed-from:' || chain || ':' || seq || ':', 'UTF8') || hash))
    FROM audit_head FOR UPDATE;
  `,
  // Care relationships from evidence (src/access/door.ts decideCare): each row records whether it is
  // verified and who asserted it; a self-declared one expires unless corroborated. care_declaration
  // keeps every self-declared relationship for review, whatever becomes of its evidence resource;
  // care_code holds the one-time codes a patient gives to confirm one (hashed, minutes long).
  `
  ALTER TABLE care_relationship ADD COLUMN verified boolean NOT NULL DEFAULT true;
  ALTER TABLE care_relationship ADD COLUMN asserted_by text;
  DROP INDEX care_relationship_party;
  CREATE INDEX care_relationship_party ON care_relationship (party, patient) INCLUDE (valid_until, verified);

  CREATE TABLE care_declaration (
    id text PRIMARY KEY,
    patient text NOT NULL,
    party text NOT NULL,
    kind text NOT NULL,
    evidence text NOT NULL,
    declared_by text NOT NULL,
    client_id text NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    confirmed_at timestamptz,
    confirmed_by text,
    reviewed_at timestamptz,
    reviewed_by text,
    review_outcome text,
    review_note text
  );
  CREATE INDEX care_declaration_party ON care_declaration (party, declared_at DESC);
  CREATE INDEX care_declaration_patient ON care_declaration (patient, party, expires_at);

  CREATE TABLE care_code (
    code_hash text PRIMARY KEY,
    patient text NOT NULL,
    created_by text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    used_by text
  );
  `,
  // The secret the record keys of perturbed aggregate counts derive from (src/store/aggregate-count.ts).
  AGGREGATE_SECRET_MIGRATION,
  // Compact audit records (src/store/audit-append.ts): who acted is stored once in audit_agent,
  // named by its digest, and the chains from 64 up are the batched appenders', keyed from their start.
  `
  CREATE TABLE audit_agent (
    id text PRIMARY KEY,
    agent text NOT NULL
  );
  INSERT INTO audit_head (chain, seq, hash)
    SELECT g, 0, sha256(convert_to('${GENESIS_PREFIX}' || g, 'UTF8')) FROM generate_series(${APPENDER_CHAINS.first}, ${APPENDER_CHAINS.first + APPENDER_CHAINS.count - 1}) g;
  ${sealChainsSql(`chain >= ${TRANSACTION_CHAINS}`)};
  `,
  // What every server process caches about tokens and accounts (src/access/access-cache.ts) is
  // invalidated by notification when it changes: a revoked token's record deleted, an account changed.
  `
  CREATE FUNCTION densaulyq_notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_TABLE_NAME = 'oauth_payload' THEN
      IF OLD.kind = 'IssuedAccessToken' THEN PERFORM pg_notify('${ACCESS_CHANNEL}', 'token:' || OLD.id); END IF;
    ELSE
      PERFORM pg_notify('${ACCESS_CHANNEL}', 'account:' || OLD.id);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER oauth_payload_revoked AFTER DELETE ON oauth_payload FOR EACH ROW EXECUTE FUNCTION densaulyq_notify_access();
  CREATE TRIGGER app_user_changed AFTER UPDATE OR DELETE ON app_user FOR EACH ROW EXECUTE FUNCTION densaulyq_notify_access();
  `,
  // The door's consent condition, hashed per query when PostgreSQL finds that cheaper, reads a
  // party's denials by this index instead of scanning every consent rule.
  `
  CREATE INDEX consent_rule_party ON consent_rule (value, kind) INCLUDE (patient, valid_until);
  `,
  // SMART Health Links (src/store/share-links.ts): a link's terms and state, and the file it
  // resolves to as a JWE; the key is never stored (it is in the link only). share_link_use keeps
  // every use with the recipient as named, and the digest of a one-time file location token.
  `
  CREATE TABLE share_link (
    id text PRIMARY KEY,
    patient text NOT NULL,
    label text,
    flags text NOT NULL,
    passcode_hash text,
    single_use boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    failed_attempts integer NOT NULL DEFAULT 0,
    used_at timestamptz,
    content_type text NOT NULL,
    content text NOT NULL
  );
  CREATE INDEX share_link_patient ON share_link (patient, created_at DESC);
  CREATE TABLE share_link_use (
    link text NOT NULL REFERENCES share_link (id) ON DELETE CASCADE,
    used_at timestamptz NOT NULL DEFAULT now(),
    recipient text NOT NULL,
    file_token text,
    file_expires_at timestamptz NOT NULL
  );
  CREATE INDEX share_link_use_link ON share_link_use (link, used_at DESC);
  CREATE UNIQUE INDEX share_link_use_file ON share_link_use (file_token) WHERE file_token IS NOT NULL;
  `,
  // The patient's dispute of an organization's self-declared care (src/store/care-declarations.ts):
  // the relationship ends, the declaration stays for review, marked disputed.
  `
  ALTER TABLE care_declaration ADD COLUMN disputed_at timestamptz;
  ALTER TABLE care_declaration ADD COLUMN disputed_by text;
  `,
  // Indexes an initial bulk load dropped (src/store/initial-load.ts), kept until they are built
  // again, so an interrupted load is mended by the next import.
  `
  CREATE TABLE deferred_index (
    name text PRIMARY KEY,
    definition text NOT NULL
  );
  `,
  // HL7 v2 messages from laboratories over MLLP, as received, with their ACKs (src/store/hl7v2-messages.ts):
  // a kept message's key (sender, MSH-10) answers a resend with the first ACK; rejected ones stay for review.
  `
  CREATE TABLE lab_message (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    sender text,
    control_id text,
    message_type text,
    organization text,
    status text NOT NULL,
    reason text,
    content bytea NOT NULL,
    ack bytea NOT NULL
  );
  CREATE UNIQUE INDEX lab_message_control ON lab_message (sender, control_id) WHERE status <> 'rejected';
  CREATE INDEX lab_message_review ON lab_message (status, received_at) WHERE status IN ('review', 'rejected');
  `,
  // Topic-based Subscriptions (src/store/subscriptions.ts): registrations, and the outbox of their
  // events written in the transaction of the write that triggered them.
  SUBSCRIPTION_MIGRATION,
  // The HL7 v2 message log serves every MLLP sender (laboratories, hospitals' ADT feeds), not only labs.
  `
  ALTER TABLE lab_message RENAME TO hl7v2_message;
  ALTER INDEX lab_message_control RENAME TO hl7v2_message_control;
  ALTER INDEX lab_message_review RENAME TO hl7v2_message_review;
  `,
  // Subscription event counters apart from the rows the delivery worker updates (src/store/subscriptions.ts).
  SUBSCRIPTION_COUNTER_MIGRATION,
  // Subscription events numbered by the delivery worker, no longer under a lock in every writer's commit.
  SUBSCRIPTION_NUMBERING_MIGRATION,
  // The DICOM index (src/store/dicom-index.ts): studies, series and instances of the image store.
  DICOM_INDEX_MIGRATION,
  // Rows no search reads any more (src/fhir/derived-index.ts): R4's Observation combo parameters are
  // read from the rows of the parameters they unite, its composites on the resource itself from
  // their components' rows, and the reference parameters that are another one to one target type
  // (`patient`) from that one's rows; a composite's key rows stay only where its other components
  // have values. `densaulyq reindex` does the same for custom SearchParameters, gives a reference by
  // identifier alone the type its Reference.type names, and writes a coding's display on its row.
  `
  DELETE FROM search_token WHERE resource_type = 'Observation' AND (code IN ('combo-code', 'combo-data-absent-reason', 'combo-value-concept',
    'code-value-concept', 'code-value-quantity', 'combo-code-value-concept', 'combo-code-value-quantity')
    OR code LIKE 'combo-code:%' OR code LIKE 'combo-data-absent-reason:%' OR code LIKE 'combo-value-concept:%'
    OR code LIKE 'code-value-concept$%' OR code LIKE 'combo-code-value-concept$%');
  DELETE FROM search_number WHERE resource_type = 'Observation' AND (code IN ('combo-value-quantity', 'combo-value-quantity:canonical')
    OR code LIKE 'code-value-quantity$%' OR code LIKE 'combo-code-value-quantity$%');
  DELETE FROM search_token t WHERE t.resource_type = 'Observation' AND t.code = 'code-value-string'
    AND NOT EXISTS (SELECT 1 FROM search_string c WHERE c.resource_type = t.resource_type AND c.id = t.id AND c.code LIKE 'code-value-string$%');
  DELETE FROM search_token t WHERE t.resource_type = 'Observation' AND t.code = 'code-value-date'
    AND NOT EXISTS (SELECT 1 FROM search_date c WHERE c.resource_type = t.resource_type AND c.id = t.id AND c.code LIKE 'code-value-date$%');
  DELETE FROM search_token t WHERE t.resource_type = 'Observation' AND t.code = 'component-code-value-quantity'
    AND NOT EXISTS (SELECT 1 FROM search_number c WHERE c.resource_type = t.resource_type AND c.id = t.id AND c.code LIKE 'component-code-value-quantity$%');
  DELETE FROM search_token t WHERE t.resource_type = 'Observation' AND t.code = 'component-code-value-concept'
    AND NOT EXISTS (SELECT 1 FROM search_token c WHERE c.resource_type = t.resource_type AND c.id = t.id AND c.code LIKE 'component-code-value-concept$%');
  DELETE FROM search_reference WHERE (resource_type, code) IN (VALUES
    ('Account', 'patient'), ('Appointment', 'location'), ('Appointment', 'patient'), ('Appointment', 'practitioner'),
    ('AppointmentResponse', 'location'), ('AppointmentResponse', 'patient'), ('AppointmentResponse', 'practitioner'),
    ('Basic', 'patient'), ('CarePlan', 'patient'), ('CareTeam', 'patient'), ('ChargeItem', 'patient'),
    ('ClinicalImpression', 'patient'), ('Communication', 'patient'), ('CommunicationRequest', 'patient'),
    ('Composition', 'patient'), ('Condition', 'patient'), ('Contract', 'patient'), ('DeviceRequest', 'patient'),
    ('DiagnosticReport', 'patient'), ('DocumentManifest', 'patient'), ('DocumentReference', 'patient'),
    ('Encounter', 'patient'), ('Encounter', 'practitioner'), ('Flag', 'patient'), ('Goal', 'patient'),
    ('GuidanceResponse', 'patient'), ('ImagingStudy', 'patient'), ('Invoice', 'patient'), ('List', 'patient'),
    ('MeasureReport', 'patient'), ('Media', 'patient'), ('MedicationAdministration', 'patient'),
    ('MedicationDispense', 'patient'), ('MedicationRequest', 'patient'), ('MedicationStatement', 'patient'),
    ('Observation', 'patient'), ('Person', 'patient'), ('Person', 'practitioner'), ('Person', 'relatedperson'),
    ('Procedure', 'patient'), ('Provenance', 'patient'), ('QuestionnaireResponse', 'patient'),
    ('RequestGroup', 'patient'), ('RiskAssessment', 'patient'), ('ServiceRequest', 'patient'), ('Specimen', 'patient'),
    ('Task', 'patient'));
  `,
  // One index finds references by their target, for searches (`subject=Patient/1`, with or without
  // the type), chains, `_has` and `_revinclude`, instead of two that each held every row: the
  // target's id leads, the one column every such look-up names.
  `
  DROP INDEX search_reference_target;
  DROP INDEX search_reference_reverse;
  CREATE INDEX search_reference_target ON search_reference (target_id, target_type, resource_type, code) INCLUDE (id);
  `,
  // A resent DICOM instance is compared with the stored one byte for byte (src/imaging/stow.ts),
  // not by a digest every instance paid for on its way in.
  `ALTER TABLE dicom_instance DROP COLUMN sha256;`,
  // A write's audit append is sent with COMMIT right behind it (src/store/audit-append.ts): when
  // another session moved the chain's head first, the append must fail the statement, so the
  // transaction rolls back and runs again, rather than commit the write without its record.
  `
  CREATE FUNCTION densaulyq_audit_head_moved(chain integer) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    RAISE EXCEPTION 'audit chain % moved while a record was appended to it', chain USING ERRCODE = '40001';
  END $$;
  `,
];

/** Applies the migrations not yet applied, under an advisory lock so concurrent starts are safe. */
export async function migrate(db: Database, auditKey: AuditKey): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(726564)`);
    // Migrations that seal audit chains read the key's padded forms, set for this transaction only.
    await withMigrationKey(tx, auditKey);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>(`SELECT coalesce(max(version), 0) AS version FROM schema_migration`);
    const current = Number(rows[0]?.version ?? 0);
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      for (const statement of splitStatements(MIGRATIONS[version - 1]!)) await tx.query(statement);
      await tx.query(`INSERT INTO schema_migration (version) VALUES ($1)`, [version]);
    }
  });
}
