import type { FastifyReply, FastifyRequest } from 'fastify';
import { isJsonObject } from '../../fhir/json.js';
import { errorMessage } from '../../fhir/outcome.js';
import {
  ClientRegistrationError,
  addClient,
  clientEvents,
  decideClient,
  getClient,
  listClients,
  removeClient,
  type ClientRegistration,
  type RegistryActor,
} from '../clients.js';
import type { AuthorizationServices } from '../routes.js';
import { scopesAllowing, type Permission } from '../scopes.js';
import { findUserById } from '../users.js';
import { adminSecretMatches, bearerClaims, parseJson, refuse } from './callers.js';

// The client registry's admin API. The platform administrator (or the bootstrap secret)
// registers, lists and removes clients; a client acting for an organization it registers stays
// pending. Only that organization's own administrator approves or revokes it, and sees only its
// organization's clients and events.

type ClientRequest = FastifyRequest<{ Params: { id: string } }>;

async function registryActor(request: FastifyRequest, services: AuthorizationServices, permission: Permission): Promise<RegistryActor | undefined> {
  const secret = adminSecretMatches(request, services);
  if (secret !== undefined) return secret ? { name: 'admin-secret', role: 'administrator', via: 'api' } : undefined;
  const claims = await bearerClaims(request, services);
  if (!claims || (claims.role !== 'administrator' && claims.role !== 'organization-administrator')) return undefined;
  if (!scopesAllowing(claims.scopes, { context: ['user', 'system'], resourceType: '*', permission }).some((s) => s.query.length === 0)) return undefined;
  // The account as it is now: a role taken away, or an organization changed, counts at once.
  const user = await findUserById(services.db, claims.sub);
  if (!user || user.role !== claims.role) return undefined;
  if (user.role === 'administrator') return { name: user.username, role: 'administrator', via: 'api' };
  if (!user.organization || user.organization !== claims.organization) return undefined;
  return { name: user.username, role: 'organization-administrator', organization: user.organization, via: 'api' };
}

const forbid = (reply: FastifyReply, description: string) => reply.code(403).send({ error: 'access_denied', error_description: description });
const noSuchClient = (reply: FastifyReply) => reply.code(404).send({ error: 'not_found', error_description: 'no such client' });

/** `POST {issuer}/admin/clients`: RFC 7591 metadata; an organization administrator's own clients are approved at once. */
export async function registerClient(request: FastifyRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'c');
  if (!actor) return refuse(reply);
  let body = parseJson(request.body);
  const ownRegistration = actor.role === 'organization-administrator';
  if (ownRegistration && isJsonObject(body)) {
    if (body.organization !== undefined && body.organization !== actor.organization) return forbid(reply, 'an organization administrator registers clients for its own organization only');
    body = { ...body, organization: actor.organization };
  }
  try {
    // JSON from the wire: addClient checks it and throws a ClientRegistrationError for what is not valid metadata.
    const client = await addClient(services.db, body as ClientRegistration, {
      registeredBy: actor,
      approvedBy: ownRegistration ? actor : undefined,
      validate: async (metadata) => {
        await (services.provider.Client as unknown as { validate(m: unknown): Promise<void> }).validate(metadata);
      },
    });
    return reply.code(201).send(client);
  } catch (error) {
    // oidc-provider's InvalidClientMetadata carries the OAuth `error` and `error_description`.
    const oauth: Record<string, unknown> = isJsonObject(error) ? error : {};
    if (error instanceof ClientRegistrationError || oauth.error === 'invalid_client_metadata') {
      return reply.code(400).send({ error: 'invalid_client_metadata', error_description: oauth.error_description ?? errorMessage(error) });
    }
    throw error;
  }
}

/** `GET {issuer}/admin/clients`: every client, or an organization administrator's own. */
export async function listClientsRoute(request: FastifyRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'r');
  if (!actor) return refuse(reply);
  return { clients: await listClients(services.db, actor.organization) };
}

/** `GET {issuer}/admin/clients/:id` */
export async function readClient(request: ClientRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'r');
  if (!actor) return refuse(reply);
  return (await getClient(services.db, request.params.id, actor.organization)) ?? noSuchClient(reply);
}

/** `GET {issuer}/admin/clients/:id/events`: who registered, approved and revoked it, when. */
export async function clientEventsRoute(request: ClientRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'r');
  if (!actor) return refuse(reply);
  const events = await clientEvents(services.db, request.params.id, actor.organization);
  return events.length ? { events } : noSuchClient(reply);
}

async function decide(decision: 'approve' | 'revoke', request: ClientRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'u');
  if (!actor) return refuse(reply);
  if (actor.role !== 'organization-administrator') return forbid(reply, `only the administrator of the client's organization may ${decision} it`);
  return (await decideClient(services.db, request.params.id, decision, actor)) ?? noSuchClient(reply);
}

/** `POST {issuer}/admin/clients/:id/approve`: by the administrator of the client's organization only. */
export const approveClient = (request: ClientRequest, reply: FastifyReply, services: AuthorizationServices) => decide('approve', request, reply, services);

/** `POST {issuer}/admin/clients/:id/revoke`: by the administrator of the client's organization only. */
export const revokeClient = (request: ClientRequest, reply: FastifyReply, services: AuthorizationServices) => decide('revoke', request, reply, services);

/** `DELETE {issuer}/admin/clients/:id` */
export async function removeClientRoute(request: ClientRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const actor = await registryActor(request, services, 'd');
  if (!actor) return refuse(reply);
  const removed = await removeClient(services.db, request.params.id, actor, actor.organization);
  return removed ? reply.code(204).send() : noSuchClient(reply);
}
