/**
 * Access: the OAuth 2.0 / OpenID Connect authorization server (SMART App Launch 2, SMART
 * Backend Services) and what the FHIR API needs from it. The lead wires these:
 *
 * - `authorizationServer(options)`: the Fastify plugin (also carries `verifyAccessToken`);
 * - `createAccessTokenVerifier(options)`: verifies tokens without the plugin (other processes);
 * - `parseScopes(scope)` and the scope helpers: the SMART v1/v2 scope model;
 * - CLI: `addClient`, `addUser`, `issueTokenForUser`, `issueTokenForClient`, `ensureDemoAccounts`.
 */
export { authorizationServer, type AuthorizationServerOptions, type AuthorizationServerPlugin } from './server.js';
export {
  AccessTokenError,
  CLI_CLIENT_ID,
  createAccessTokenVerifier,
  issueTokenForClient,
  issueTokenForUser,
  mintAccessToken,
  publicJwks,
  type AccessClaims,
  type MintOptions,
  type VerifierOptions,
} from './tokens.js';
export {
  allowedByRegistration,
  formatScope,
  parseScope,
  parseScopes,
  permitsUnconstrained,
  resourceScopes,
  scopeCovers,
  scopesAllowing,
  type AccessRequest,
  type IdentityScope,
  type LaunchScope,
  type Permission,
  type ResourceScope,
  type Scope,
  type ScopeContext,
} from './scopes.js';
export {
  ClientNotApprovedError,
  ClientRegistrationError,
  OPERATOR,
  addClient,
  clientEvents,
  decideClient,
  ensurePublicClient,
  getClient,
  listClients,
  organizationAdministratorNamed,
  removeClient,
  type ClientEvent,
  type ClientRegistration,
  type RegisteredClient,
  type RegistrationState,
  type RegistryActor,
} from './clients.js';
export {
  ROLES,
  addUser,
  ensureDemoAccounts,
  findUserByUsername,
  unlockUser,
  type AppUser,
  type DemoAccount,
  type DemoAccountOptions,
  type NewUser,
  type Role,
} from './users.js';
export { createLaunch, type LaunchContext } from './launch.js';
export { smartConfiguration } from './smart-configuration.js';
export type { UpstreamOptions } from './upstream.js';
