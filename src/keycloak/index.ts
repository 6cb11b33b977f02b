// The Keycloak layer: one connection per KeycloakInstance (limits, breaker, token, metrics) and
// diff-based sync of realms, clients and users with ownership checks.
export { KeycloakConnection } from "./connection.js";
export type {
  AdminCredentials,
  CallOptions,
  ConnectionStats,
  HttpMethod,
  KeycloakConnectionOptions,
  TlsOptions,
} from "./connection.js";
export { RequestLimiter, TokenBucket, defaultLimiterConfig } from "./limits.js";
export type { BucketConfig, LimiterConfig } from "./limits.js";
export { CircuitBreaker, defaultBreakerConfig } from "./breaker.js";
export type { BreakerConfig, CircuitState } from "./breaker.js";
export {
  CircuitOpenError,
  KeycloakApiError,
  KeycloakUnreachableError,
  MissingReferenceError,
  OwnershipError,
} from "./errors.js";
export { ownerUidAttribute, ownerNamespaceAttribute, ownerNameAttribute } from "./ownership.js";
export type { Owner } from "./ownership.js";
export { syncRealm, deleteRealm, smtpPasswordHashAttribute } from "./realmSync.js";
export type { DesiredRealm, SmtpServer, SyncOptions, SyncResult } from "./realmSync.js";
export {
  syncClient,
  getClientSecret,
  getClientSecretById,
  rotateClientSecret,
  deleteClient,
  type ClientRef,
  type ClientSyncResult,
} from "./clientSync.js";
export type { DesiredClient, RoleSet } from "./clientSync.js";
export { realmEndpoints, computeRealmEndpoints } from "./endpoints.js";
export type { RealmEndpoints } from "./endpoints.js";
export { syncUser, deleteUser } from "./userSync.js";
export type { DesiredUser, UserSyncResult } from "./userSync.js";
