import type { FastifyReply, FastifyRequest } from 'fastify';
import { isJsonObject } from '../../fhir/json.js';
import { createLaunch, isResourceId } from '../launch.js';
import type { AuthorizationServices } from '../routes.js';
import { scopesAllowing } from '../scopes.js';
import { adminSecretMatches, bearerClaims, parseJson, refuse } from './callers.js';

const LAUNCHING_ROLES = ['clinician', 'administrator', 'system'];

/**
 * `POST {issuer}/launch`: an EHR records the patient (and encounter) a SMART app is launched for
 * and gets the `launch` id (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch).
 * The caller: the admin secret, or a token of a role that reads Patients.
 */
export async function createLaunchContext(request: FastifyRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const who = await launchingCaller(request, services);
  if (!who) return refuse(reply);
  const body = parseJson(request.body);
  const { patient, encounter }: Record<string, unknown> = isJsonObject(body) ? body : {};
  if (!body || (patient !== undefined && !isResourceId(patient)) || (encounter !== undefined && !isResourceId(encounter))) {
    return reply.code(400).send({ error: 'invalid_request', error_description: 'send {"patient": id, "encounter": id} as JSON' });
  }
  const launch = await createLaunch(services.db, { ...(typeof patient === 'string' && patient ? { patient } : {}), ...(typeof encounter === 'string' && encounter ? { encounter } : {}) }, who);
  return reply.code(201).send({ launch, expires_in: 600 });
}

async function launchingCaller(request: FastifyRequest, services: AuthorizationServices): Promise<string | undefined> {
  const secret = adminSecretMatches(request, services);
  if (secret !== undefined) return secret ? 'bootstrap-secret' : undefined;
  const claims = await bearerClaims(request, services);
  const allowed =
    claims && LAUNCHING_ROLES.includes(claims.role) && scopesAllowing(claims.scopes, { context: ['user', 'system'], resourceType: 'Patient', permission: 'r' }).length > 0;
  return allowed ? claims.sub : undefined;
}
