import type { AccessContext } from '../access/context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who asks: set by the preHandler that verifies the bearer token. Absent before it runs and
     * on requests without a valid token, so nothing read from an unverified token lands here.
     */
    accessContext?: AccessContext;
  }
}
