import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { seedingAccess } from './access/door.js';
import { runInServer } from './cli/command-socket.js';
import { USAGE, isDatabaseCommand, isUsageMistake, runDatabaseCommand } from './cli/commands.js';
import { ProgressBar } from './cli/progress.js';
import { type CommandSession, UsageError } from './cli/session.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { errorMessage } from './fhir/outcome.js';
import { DICOMWEB_PATH } from './http/dicomweb.js';
import { openImageStore } from './imaging/image-store.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { loadAuditKey } from './store/audit-key.js';
import type { Database } from './store/driver.js';
import { openDatabase } from './store/open.js';
import { Repository } from './store/repository.js';
import { createDemoAccounts } from './synth/demo-accounts.js';
import { generatePopulation } from './synth/population.js';
import { hasNoPatients, seedDemoPopulation } from './synth/seed.js';

async function storage(config: Config) {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    auditKey: await loadAuditKey(config.auditKeyFile, { create: true }),
    poolSize: config.dbPoolSize,
  });
}

async function serve(config: Config, logger: Logger): Promise<void> {
  if (!config.databaseUrl && config.demoPatients > 0) await seedIfEmpty(config, config.demoPatients);
  const server = await startServer(config, logger);
  const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PostgreSQL (PGlite) in ${config.dataDir}`;
  process.stdout.write(
    `\nDensaulyq is running\n  citizen app   ${config.origin}/  (demo sign-ins: demo-citizen, demo-clinician…; passwords were shown when the demo data was seeded)\n  FHIR API      ${server.url}/fhir\n  sign-in       ${config.origin}/auth (SMART: ${server.url}/fhir/.well-known/smart-configuration)\n  images        ${server.url}/dicom-web  (DICOMweb: STOW-RS, QIDO-RS, WADO-RS)\n  lab results   mllp://${config.mllp.host}:${server.mllp.port}  (HL7 v2.5.1 ORU^R01${config.mllp.tls ? ', TLS' : ''})\n  storage       ${where}\n\n`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down: finishing requests in flight');
      server.stop().then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (error: Error) => {
          logger.error({ err: { message: error.message } }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

async function seedIfEmpty(config: Config, patients: number): Promise<void> {
  const db = await storage(config);
  try {
    const repo = new Repository(db, seedingAccess());
    if (!(await hasNoPatients(repo))) return;
    const bar = new ProgressBar(`Seeding ${patients} synthetic demo patients`);
    const written = await seedDemoPopulation(repo, { patients, seed: 2026, onProgress: (n) => bar.update(n) });
    await repo.analyze();
    bar.finish(`Seeded ${written.toLocaleString('en-US')} resources.`);
    const origin = config.publicBaseUrl ? new URL(config.publicBaseUrl).origin : config.origin;
    const accounts = await createDemoAccounts(db, repo, { store: openImageStore(config.imaging.store), base: `${origin}${DICOMWEB_PATH}` });
    process.stdout.write(`\nDemo sign-ins (shown this once; synthetic data only):\n`);
    for (const account of accounts) {
      process.stdout.write(`  ${account.role.padEnd(26)} ${account.username.padEnd(31)} ${account.password ?? '(existed before)'}${account.fhirUser ? `  ${account.fhirUser}` : ''}\n`);
    }
  } finally {
    await db.close();
  }
}

async function generate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { patients: { type: 'string' }, seed: { type: 'string', default: '1' }, out: { type: 'string' } } });
  const patients = Number(values.patients);
  const seed = Number(values.seed);
  if (!Number.isInteger(patients) || patients < 1 || !Number.isInteger(seed) || !values.out) {
    throw new UsageError('generate needs --patients N (a positive integer), --seed S (an integer) and --out DIR');
  }
  const bar = new ProgressBar('Generating', patients);
  const started = performance.now();
  const result = await generatePopulation({ patients, seed, outDir: values.out, onProgress: (done, total) => bar.update(done, total) });
  bar.finish();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${result.resources.toLocaleString('en-US')} resources in ${seconds.toFixed(1)} s (${Math.round(result.resources / seconds).toLocaleString('en-US')}/s) to ${values.out}\n`);
  for (const [type, count] of Object.entries(result.counts).sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${type.padEnd(20)} ${count}\n`);
}

/**
 * A database command: run by the server that holds the embedded database when one is running
 * (src/cli/command-socket.ts), otherwise here on a database this process opens.
 */
async function databaseCommand(config: Config, argv: string[]): Promise<void> {
  const terminal = { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
  if (!config.databaseUrl) {
    const exitCode = await runInServer(config, argv, terminal);
    if (exitCode !== undefined) {
      process.exitCode = exitCode;
      return;
    }
  }
  let db: Database | undefined;
  const session: CommandSession = {
    ...terminal,
    config,
    exitCode: 0,
    async database(key) {
      db ??= await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        auditKey: key ?? (await loadAuditKey(config.auditKeyFile, { create: true })),
        poolSize: config.dbPoolSize,
      });
      return db;
    },
  };
  try {
    await runDatabaseCommand(argv, session);
    process.exitCode = session.exitCode;
  } finally {
    await db?.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Densaulyq cannot start: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (isDatabaseCommand(command)) return await databaseCommand(config, argv);
  try {
    switch (command) {
      case 'serve':
        return await serve(config, createLogger(config.logLevel));
      case 'generate':
        return await generate(args);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } catch (error) {
    if (!isUsageMistake(error)) throw error;
    process.stderr.write(`${errorMessage(error)}\n\n${USAGE}`);
    process.exitCode = 2;
  }
}

await main(process.argv.slice(2));
