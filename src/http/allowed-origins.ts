import type { FastifyBaseLogger } from 'fastify';
import { listClients } from '../access/clients.js';
import type { SqlClient } from '../store/driver.js';

/**
 * The browser origins that may call the API across origins: those of the registered clients'
 * redirect URIs, plus configured ones. Clients are registered at run time, so the set is read
 * again once it is older than `maxAgeMs`; callers asking meanwhile wait for that one read.
 */
export class AllowedOrigins {
  private origins = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: SqlClient,
    private readonly configured: readonly string[],
    private readonly maxAgeMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  async allows(origin: string): Promise<boolean> {
    if (Date.now() - this.loadedAt >= this.maxAgeMs) await this.refresh();
    return this.origins.has(origin);
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      const origins = new Set(this.configured);
      for (const client of await listClients(this.db)) {
        for (const uri of client.redirect_uris ?? []) {
          const origin = originOf(uri);
          if (origin) origins.add(origin);
        }
      }
      this.origins = origins;
    } catch (error) {
      // The last good set stays in force; the registry is tried again after maxAgeMs, not per request.
      const name = error instanceof Error ? error.name : typeof error;
      const code = error instanceof Error && 'code' in error ? error.code : undefined;
      this.log.warn({ err: { name, code } }, 'allowed CORS origins not refreshed');
    }
    this.loadedAt = Date.now();
  }
}

/** `https://app.example:8443` of a URL; undefined for URLs without one (custom schemes of native apps give "null"). */
export function originOf(url: string): string | undefined {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
