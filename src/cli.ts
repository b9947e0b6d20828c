import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';

const USAGE = `Usage: densaulyq <command> [options]

Commands:
  serve        run the FHIR API (PORT, DATA_DIR, DATABASE_URL from the environment)
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  const storage = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PostgreSQL (PGlite) in ${config.dataDir}`;
  process.stdout.write(`\nDensaulyq is running\n  FHIR API  ${server.url}/fhir\n  storage   ${storage}\n\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down: finishing requests in flight');
      server.stop().then(
        () => process.exit(0),
        (error: Error) => {
          logger.error({ err: { message: error.message } }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

async function main(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  switch (positionals[0]) {
    case 'serve':
      return serve();
    case undefined:
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`Unknown command "${positionals[0]}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

await main(process.argv.slice(2));
