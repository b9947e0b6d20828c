import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationServices } from '../routes.js';
import { smartConfiguration } from '../smart-configuration.js';

/** `GET {fhir}/.well-known/smart-configuration` (https://hl7.org/fhir/smart-app-launch/conformance.html). */
export async function smartConfigurationDocument(_request: FastifyRequest, reply: FastifyReply, { issuer }: AuthorizationServices): Promise<unknown> {
  reply.header('Cache-Control', 'public, max-age=3600');
  return smartConfiguration(issuer);
}
