// KeycloakUser spec → the user Keycloak should have (the DesiredUser the sync in src/keycloak
// compares against). Pure: no I/O, no defaults beyond the schema's. Only the fields the spec sets are
// managed; the initial password is in the desired state only when its Secret was resolved (the
// handler resolves it only while the password has not been set, see userHandler.ts).
import type { KeycloakUserSpec } from "../api/index.js";
import type { DesiredUser } from "../keycloak/userSync.js";
import { initialPasswordReference, secretValue, type ResolvedSecrets } from "./secretReferences.js";

export function desiredUser(spec: KeycloakUserSpec, secrets: ResolvedSecrets): DesiredUser {
  const user: DesiredUser["user"] = { username: spec.username };
  if (spec.email !== undefined) user.email = spec.email;
  if (spec.emailVerified !== undefined) user.emailVerified = spec.emailVerified;
  if (spec.firstName !== undefined) user.firstName = spec.firstName;
  if (spec.lastName !== undefined) user.lastName = spec.lastName;
  if (spec.enabled !== undefined) user.enabled = spec.enabled;
  if (spec.attributes !== undefined) user.attributes = spec.attributes;
  if (spec.requiredActions !== undefined) user.requiredActions = spec.requiredActions;
  const desired: DesiredUser = { user };
  if (spec.groups !== undefined) desired.groups = spec.groups;
  if (spec.realmRoles !== undefined || spec.clientRoles !== undefined) {
    desired.roles = {
      ...(spec.realmRoles !== undefined ? { realm: spec.realmRoles } : {}),
      ...(spec.clientRoles !== undefined ? { client: spec.clientRoles } : {}),
    };
  }
  if (spec.federatedIdentities !== undefined) desired.federatedIdentities = spec.federatedIdentities;
  const [passwordRef] = initialPasswordReference(spec);
  if (passwordRef && secrets.has(passwordRef.field)) {
    desired.initialPassword = {
      value: secretValue(secrets, passwordRef),
      temporary: spec.initialPasswordTemporary ?? false,
    };
  }
  return desired;
}
