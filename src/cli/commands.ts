import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Role, addClient, addUser, issueTokenForClient, issueTokenForUser, organizationAdministratorNamed } from '../access/index.js';
import { type AuditAnchor, FolderAnchorStore, anchorOf, parseAnchor } from '../access/audit-anchors.js';
import { verifyAuditChain } from '../access/audit-verify.js';
import { importAccess, maintenanceAccess } from '../access/door.js';
import { exportToDirectory } from '../bulk/export.js';
import { importFiles, ndjsonFiles } from '../bulk/import.js';
import { defaultWorkers, inThread, workerPool } from '../bulk/prepare-pool.js';
import { isFhirError } from '../fhir/outcome.js';
import { AuditKeyMismatch } from '../store/audit-chain.js';
import { loadAuditKey } from '../store/audit-key.js';
import { loadCustomSearchParameters, loadHeldProfiles } from '../store/custom-search-parameters.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';
import { duplicatesScan } from './duplicates.js';
import { ProgressBar } from './progress.js';
import { type CommandSession, UsageError } from './session.js';

// The commands that work on the database. They run in the `densaulyq` process, or, when a
// server holds the embedded database, inside that server (src/cli/command-socket.ts).

export const USAGE = `Usage: densaulyq <command> [options]

Commands:
  serve                          run the FHIR API (PORT, DATA_DIR, DATABASE_URL from the environment);
                                 an empty embedded database is first seeded with DEMO_PATIENTS (500) demo patients
  generate --patients N --seed S --out DIR
                                 write a synthetic population as FHIR NDJSON, one file per resource type
  import PATH [--report FILE] [--workers N] [--initial]
                                 load NDJSON files (a file or a folder of *.ndjson) into the store;
                                 rejected lines go to the report (default import-rejected.ndjson);
                                 parsed, validated and indexed in N worker threads (default: one per core
                                 from 16 MB of input; 0: in the importing thread); --initial builds the search indexes no write
                                 reads once at the end (for a first load, with no one searching meanwhile)
  export --out DIR [--type T]... [--since INSTANT] [--type-filter QUERY]...
                                 write the current resources as NDJSON, one file per type (Bulk Data format)
  reindex [--type TYPE]          rebuild the search indexes (after search parameter definitions change)
  client add --name NAME [--organization ORG [--approved-by USERNAME]] [--jwks FILE] [--scope S] [--redirect-uri URI]... [--public]
                                 register an OAuth client: with --jwks a backend service (private_key_jwt, RS384 or
                                 ES384 from the keys), with --redirect-uri an app (--public: no secret, PKCE only).
                                 A client acting for an --organization gets no token until that organization's
                                 administrator approves it (POST /auth/admin/clients/ID/approve), unless
                                 --approved-by names an organization-administrator account of it who approved it
  user add --username U --role ROLE [--fhir-user Patient/1] [--organization ORG] [--region R] [--clinical-access]
                                 (--clinical-access: an administrator who may read clinical data, audited)
                                 add a local account; prints its generated password once
  token --user U | --client C [--scope S] [--ttl MINUTES]
                                 print an access token for scripts and tests
  duplicates scan                finds duplicate patients (blocked, never all pairs) for the work list Patient/$duplicates
  audit verify [--anchor FILE] [--write-anchor FILE]
                                 check the audit hash chains with the key (AUDIT_KEY_FILE) and through the newest
                                 anchor the server wrote (AUDIT_ANCHOR_DIR); exits 1 when a record was changed,
                                 removed or reordered. --write-anchor saves the chain heads, --anchor checks one more
`;

async function importCommand(session: CommandSession, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { report: { type: 'string', default: 'import-rejected.ndjson' }, workers: { type: 'string' }, initial: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('import needs one PATH: an NDJSON file or a folder of them');
  const [path = ''] = positionals;
  const files = await ndjsonFiles(resolve(session.cwd, path));
  const workers = values.workers === undefined ? await workersFor(files) : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) throw new UsageError('--workers takes a whole number: threads for the CPU work, 0 for none');
  const db = await session.database();
  const report = createWriteStream(resolve(session.cwd, values.report));
  const repo = new Repository(db, importAccess());
  // The pool's threads index and validate by the definitions the store holds, as the server does.
  await loadCustomSearchParameters(repo);
  await loadHeldProfiles(repo);
  // An initial load interrupted earlier left indexes to build: they are built before anything else.
  await repo.buildDeferredIndexes();
  if (values.initial) await repo.deferIndexes();
  const pool = workers > 0 ? workerPool(workers) : inThread();
  try {
    const bar = new ProgressBar('Importing', undefined, session.stderr);
    const progress = await importFiles(files, {
      repo,
      pool,
      onRejected: (rejected) => {
        report.write(`${JSON.stringify(rejected)}\n`);
      },
      onProgress: (p) => bar.update(p.read),
    });
    bar.finish();
    session.stdout.write(
      `read ${progress.read}, written ${progress.written}, unchanged ${progress.unchanged}, rejected ${progress.rejected}` +
        (progress.rejected ? ` (see ${values.report})` : '') +
        '\n',
    );
    if (progress.rejected) session.exitCode = 1;
  } finally {
    await pool.close();
    await repo.buildDeferredIndexes();
    await repo.analyze();
    await new Promise((done) => report.end(done));
  }
}

/**
 * Worker threads for an import of `files`: one per core, unless the files are small enough to load
 * before the threads would have warmed up (each first loads the definitions for some seconds).
 */
async function workersFor(files: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return bytes >= POOL_MIN_BYTES ? defaultWorkers() : 0;
}

const POOL_MIN_BYTES = 16 * 2 ** 20;

async function exportCommand(session: CommandSession, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string' }, type: { type: 'string', multiple: true }, since: { type: 'string' }, 'type-filter': { type: 'string', multiple: true } },
  });
  if (!values.out) throw new UsageError('export needs --out DIR');
  const db = await session.database();
  const outDir = resolve(session.cwd, values.out);
  try {
    const bar = new ProgressBar('Exporting', undefined, session.stderr);
    const result = await exportToDirectory({
      db,
      outDir,
      types: values.type,
      since: values.since,
      typeFilter: values['type-filter'],
      onProgress: (n) => bar.update(n),
    });
    bar.finish();
    session.stdout.write(`${result.resources.toLocaleString('en-US')} resources to ${values.out} (transactionTime ${result.transactionTime})\n`);
    for (const [type, count] of Object.entries(result.counts).sort((a, b) => b[1] - a[1])) session.stdout.write(`  ${type.padEnd(20)} ${count}\n`);
  } catch (error) {
    if (isFhirError(error)) throw new UsageError(error.outcome.issue.map((i) => i.details?.text ?? i.diagnostics).join('; '));
    throw error;
  }
}

async function reindex(session: CommandSession, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { type: { type: 'string' } } });
  const repo = new Repository(await session.database(), maintenanceAccess());
  await loadCustomSearchParameters(repo);
  const total = await repo.countCurrent(values.type);
  const bar = new ProgressBar(`Reindexing${values.type ? ` ${values.type}` : ''}`, total, session.stderr);
  let done = 0;
  let after: [string, string] | undefined;
  for (;;) {
    const page = await repo.reindexPage({ after, limit: 500, resourceType: values.type });
    if (page.count === 0) break;
    done += page.count;
    after = page.last;
    bar.update(done);
  }
  bar.finish(`Reindexed ${done.toLocaleString('en-US')} resources.`);
}

const TOKEN_SCOPES = { user: 'openid fhirUser user/*.cruds', client: 'system/*.cruds' };

async function accessCommand(session: CommandSession, command: 'client' | 'user' | 'token', args: string[]): Promise<void> {
  const { config } = session;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      organization: { type: 'string' },
      jwks: { type: 'string' },
      scope: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'approved-by': { type: 'string' },
      username: { type: 'string' },
      role: { type: 'string' },
      'fhir-user': { type: 'string' },
      region: { type: 'string' },
      'clinical-access': { type: 'boolean' },
      user: { type: 'string' },
      client: { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  const ttl = values.ttl === undefined ? 60 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 24 * 60) throw new UsageError('--ttl is a number of minutes from 1 to 1440');
  const db = await session.database();
  const mint = { issuer: `${config.origin}/auth`, fhirBaseUrl: config.publicBaseUrl ?? `${config.origin}/fhir`, ttlSeconds: ttl * 60 };
  try {
    if (command === 'client' && positionals[0] === 'add') {
      if (!values.name) throw new UsageError('client add needs --name');
      const jwks = values.jwks ? (JSON.parse(await readFile(resolve(session.cwd, values.jwks), 'utf8')) as { keys: [] }) : undefined;
      const approvedBy = values['approved-by'] ? await organizationAdministratorNamed(db, values['approved-by'], 'command-line') : undefined;
      const registered = await addClient(db, {
        client_name: values.name,
        organization: values.organization,
        scope: values.scope,
        ...(jwks
          ? { jwks, token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'] }
          : { redirect_uris: values['redirect-uri'], token_endpoint_auth_method: values.public ? 'none' : 'client_secret_basic' }),
      }, { approvedBy });
      session.stdout.write(`${JSON.stringify(registered, null, 2)}\n`);
    } else if (command === 'user' && positionals[0] === 'add') {
      if (!values.username || !values.role) throw new UsageError('user add needs --username and --role');
      const password = randomBytes(12).toString('base64url');
      await addUser(db, {
        username: values.username,
        password,
        role: values.role as Role,
        fhirUser: values['fhir-user'],
        organization: values.organization,
        region: values.region,
        clinicalAccess: values['clinical-access'],
      });
      session.stdout.write(`${values.username}  ${password}\n`);
    } else if (command === 'token' && (values.user || values.client)) {
      const token = values.user
        ? await issueTokenForUser(db, values.user, values.scope ?? TOKEN_SCOPES.user, mint)
        : await issueTokenForClient(db, values.client!, values.scope ?? TOKEN_SCOPES.client, mint);
      session.stdout.write(`${token}\n`);
    } else {
      throw new UsageError(`Unknown use of ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Registry and account errors are the caller's mistake (duplicate name, unknown role…).
    throw new UsageError((error as Error).message);
  }
}

/**
 * `audit verify`: recomputes every audit chain with the key (src/access/audit-verify.ts) and
 * checks it passes through the newest anchor of the anchor store and the `--anchor` file;
 * prints no record contents. The key is never created here: a new one could verify nothing.
 */
async function auditCommand(session: CommandSession, args: string[]): Promise<void> {
  const { config } = session;
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { anchor: { type: 'string' }, 'write-anchor': { type: 'string' } } });
  if (positionals.length !== 1 || positionals[0] !== 'verify') throw new UsageError('audit needs the subcommand verify');
  const extra = values.anchor ? await readAnchor(session.cwd, values.anchor) : undefined;
  const key = await loadAuditKey(config.auditKeyFile, { create: false }).catch((error: Error) => {
    throw new UsageError(`${error.message}: audit verify needs the key the chains were written with`);
  });
  const store = new FolderAnchorStore(config.auditAnchorDir);
  // Before the heads are read: an anchor written meanwhile could lie beyond them.
  const stored = await store.latest().catch((error: Error) => {
    throw new UsageError(error.message);
  });
  let db: Database;
  try {
    db = await session.database(key);
  } catch (error) {
    if (!(error instanceof AuditKeyMismatch)) throw error;
    session.stdout.write(`audit trail NOT VERIFIED: ${error.message}\n`);
    session.exitCode = 1;
    return;
  }
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const result = await verifyAuditChain(db, { key, anchors: [...(stored?.heads ?? []), ...(extra?.heads ?? [])] });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const walked = `${result.chains} chains, ${result.records.toLocaleString('en-US')} records in ${seconds} s`;
  if (result.ok) {
    session.stdout.write(`audit trail intact: ${walked}\n`);
  } else {
    session.stdout.write(`audit trail TAMPERED: ${result.problemCount} problem${result.problemCount === 1 ? '' : 's'} in ${walked}\n`);
    for (const p of result.problems) session.stdout.write(`  chain ${p.chain} seq ${p.seq}  ${p.kind}: ${p.detail}\n`);
    if (result.problemCount > result.problems.length) session.stdout.write(`  … and ${result.problemCount - result.problems.length} more\n`);
    session.exitCode = 1;
  }
  if (stored) session.stdout.write(`checked against the newest anchor in ${store.location}, written ${stored.written}, digest ${stored.digest}\n`);
  else session.stdout.write(`no anchor in ${store.location}: records cut from the end of a chain, with its head rewound, go unnoticed\n`);
  if (extra) session.stdout.write(`checked against the anchor with digest ${extra.digest}\n`);
  session.stdout.write(`head digest ${result.headDigest}\n`);
  if (values['write-anchor']) {
    await writeFile(resolve(session.cwd, values['write-anchor']), `${JSON.stringify(anchorOf(result.heads, startedAt), null, 2)}\n`);
    session.stdout.write(`chain heads written to ${values['write-anchor']}\n`);
  }
}

async function readAnchor(cwd: string, path: string): Promise<AuditAnchor> {
  const anchor = await readFile(resolve(cwd, path), 'utf8').then(parseAnchor, () => undefined);
  if (!anchor) throw new UsageError(`${path} is not an anchor written by audit verify --write-anchor or the server`);
  return anchor;
}

const COMMANDS: Record<string, (session: CommandSession, args: string[]) => Promise<void>> = {
  import: importCommand,
  export: exportCommand,
  reindex,
  client: (session, args) => accessCommand(session, 'client', args),
  user: (session, args) => accessCommand(session, 'user', args),
  token: (session, args) => accessCommand(session, 'token', args),
  audit: auditCommand,
  duplicates: async (session, args) => {
    if (args[0] !== 'scan' || args.length !== 1) throw new UsageError('duplicates needs the subcommand scan');
    await duplicatesScan(await session.database(), session.stderr);
  },
};

/** True for the commands `runDatabaseCommand` runs. */
export function isDatabaseCommand(command: string | undefined): command is string {
  return command !== undefined && Object.hasOwn(COMMANDS, command);
}

/**
 * Runs `argv` (`['token', '--user', 'dana']`) in `session`; a usage mistake is printed with the
 * usage text and exit status 2, as the command line always did.
 */
export async function runDatabaseCommand([command = '', ...args]: readonly string[], session: CommandSession): Promise<void> {
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`Unknown command "${command}"`);
    await run(session, args);
  } catch (error) {
    if (!isUsageMistake(error)) throw error;
    session.stderr.write(`${error.message}\n\n${USAGE}`);
    session.exitCode = 2;
  }
}

export function isUsageMistake(error: unknown): error is Error {
  return error instanceof UsageError || (error as { code?: string } | undefined)?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
}
