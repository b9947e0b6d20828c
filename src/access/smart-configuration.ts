import { CLIENT_ASSERTION_ALGS, ROUTES } from './provider.js';
import { STATIC_SCOPES } from './clients.js';

/**
 * `[fhir base]/.well-known/smart-configuration`, as SMART App Launch 2 defines it
 * (https://hl7.org/fhir/smart-app-launch/conformance.html#metadata): the endpoints, and the
 * capabilities this server implements.
 */
export function smartConfiguration(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/$/, '');
  return {
    issuer: base,
    jwks_uri: `${base}${ROUTES.jwks}`,
    authorization_endpoint: `${base}${ROUTES.authorization}`,
    token_endpoint: `${base}${ROUTES.token}`,
    introspection_endpoint: `${base}${ROUTES.introspection}`,
    revocation_endpoint: `${base}${ROUTES.revocation}`,
    userinfo_endpoint: `${base}${ROUTES.userinfo}`,
    management_endpoint: `${base}/admin/clients`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'],
    token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    scopes_supported: [
      ...STATIC_SCOPES,
      'patient/*.cruds',
      'patient/*.rs',
      'user/*.cruds',
      'user/*.rs',
      'system/*.cruds',
      'system/*.rs',
      'patient/*.read',
      'patient/*.write',
      'user/*.read',
      'user/*.write',
      'system/*.read',
      'system/*.write',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'authorize-post',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'sso-openid-connect',
      'context-ehr-patient',
      'context-ehr-encounter',
      'context-standalone-patient',
      'context-banner',
      'permission-offline',
      'permission-online',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
  };
}
