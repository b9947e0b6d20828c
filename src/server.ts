import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { FolderAnchorStore, startAnchorWriter } from './access/audit-anchors.js';
import { maintenanceAccess } from './access/door.js';
import { authorizationServer, ensurePublicClient } from './access/index.js';
import { serveCommands } from './cli/command-socket.js';
import type { Config } from './config.js';
import { tuneHeapForServing } from './heap.js';
import { buildApp } from './http/app.js';
import { openImageStore } from './imaging/image-store.js';
import { SubscriptionDelivery } from './exchange/delivery.js';
import { hl7v2MessageHandler } from './hl7v2/intake.js';
import { labResultsRoute } from './lab/intake.js';
import { ADT_ROUTE } from './exchange/adt.js';
import { LAB_ORDER_ORM_ROUTE, LAB_ORDER_ROUTE } from './lab/orders.js';
import { type MllpServer, startMllpServer } from './hl7v2/mllp-server.js';
import { WEB_APP_ROOT, webAppClient } from './http/web-app.js';
import { loadAuditKey } from './store/audit-key.js';
import type { Database } from './store/driver.js';
import { loadCustomSearchParameters, loadHeldProfiles } from './store/custom-search-parameters.js';
import { openDatabase } from './store/open.js';
import { Repository } from './store/repository.js';

/** Connections of the delivery worker's pool: a round's statements for the subscriptions it serves at once. */
const DELIVERY_POOL_SIZE = 4;

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  url: string;
  /** The laboratories' MLLP listener (MLLP_HOST, MLLP_PORT). */
  mllp: MllpServer;
  /** Stops taking requests, finishes the acknowledged ones, then closes the database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  tuneHeapForServing();
  const auditKey = await loadAuditKey(config.auditKeyFile, { create: true });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, auditKey, poolSize: config.dbPoolSize });
  const maintenance = new Repository(db, maintenanceAccess());
  await loadCustomSearchParameters(maintenance);
  await loadHeldProfiles(maintenance);
  // The embedded database is this process's alone: the command line's database commands come here.
  const commands = config.databaseUrl
    ? undefined
    : await serveCommands(db, config).catch(async (error: unknown) => {
        await db.close();
        throw error;
      });
  const authorization = await authorizationServer({
    db,
    issuer: `${config.origin}/auth`,
    fhirBaseUrl: config.publicBaseUrl ?? `${config.origin}/fhir`,
    adminSecret: config.adminSecret,
  });
  await ensurePublicClient(db, webAppClient(config.origin));
  // Delivery has connections of its own on PostgreSQL: in a burst of writes its few statements per
  // round would otherwise wait behind every write queued for the pool, and notifications fall
  // seconds behind the commits they announce.
  const deliveryDb = config.databaseUrl ? await openDatabase({ databaseUrl: config.databaseUrl, auditKey, poolSize: DELIVERY_POOL_SIZE }) : db;
  const subscriptionDelivery = new SubscriptionDelivery(deliveryDb, config.publicBaseUrl ?? `${config.origin}/fhir`, config.subscriptionDelivery, (error) =>
    logger.error({ err: { message: error.message } }, 'subscription delivery round failed'),
  );
  const app = await buildApp({
    db,
    config,
    logger,
    authorization,
    verifyToken: authorization.verifyAccessToken,
    hardening: config.hardening,
    webRoot: WEB_APP_ROOT,
    subscriptionDelivery,
    imaging: { store: openImageStore(config.imaging.store) },
  });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const mllp = await startMllp(config, db, logger).catch(async (error: unknown) => {
    await app.close();
    await commands?.close();
    if (deliveryDb !== db) await deliveryDb.close();
    await db.close();
    throw error;
  });
  const anchors = await startAnchorWriter({
    db,
    store: new FolderAnchorStore(config.auditAnchorDir),
    seconds: config.auditAnchorSeconds,
    onError: (error) => logger.error({ err: { message: error.message } }, 'audit anchor not written'),
  });
  subscriptionDelivery.start();
  let stopping: Promise<void> | undefined;
  return {
    app,
    db,
    url: `http://localhost:${port}`,
    mllp,
    stop() {
      stopping ??= (async () => {
        await Promise.all([app.close(), mllp.close()]);
        await subscriptionDelivery.stop();
        if (deliveryDb !== db) await deliveryDb.close();
        await commands?.close();
        await anchors.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}

/** The labs' HL7 v2 listener, beside the HTTP one, on the same database. */
async function startMllp(config: Config, db: Database, logger: Logger): Promise<MllpServer> {
  const { tls } = config.mllp;
  return startMllpServer({
    host: config.mllp.host,
    port: config.mllp.port,
    maxMessageBytes: config.mllp.maxMessageBytes,
    ...(tls ? { tls: { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) } } : {}),
    handler: hl7v2MessageHandler(db, { ORU: labResultsRoute(), OML: LAB_ORDER_ROUTE, ORM: LAB_ORDER_ORM_ROUTE, ADT: ADT_ROUTE }),
    onProblem: (event) => logger.warn({ event }, 'MLLP connection dropped'),
  });
}
