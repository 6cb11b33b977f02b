// Which of Keycloak's identity provider mapper types grant something to the users a provider sends:
// read by the sync (a group mapper must name a declared group) and by the privilege closure
// (src/policy/privilege.ts), so both agree on what counts as a grant.

/** Mapper types whose config.role ("role" or "clientId.role") is granted to brokered users. */
export const roleMapperTypes: ReadonlySet<string> = new Set([
  "oidc-hardcoded-role-idp-mapper",
  "oidc-role-idp-mapper",
  "oidc-advanced-role-idp-mapper",
  "keycloak-oidc-role-to-role-idp-mapper",
  "saml-role-idp-mapper",
  "saml-advanced-role-idp-mapper",
]);

/** Mapper types that put brokered users in the group config.group names (a path such as /partners). */
export const groupMapperTypes: ReadonlySet<string> = new Set([
  "oidc-hardcoded-group-idp-mapper",
  "oidc-advanced-group-idp-mapper",
  "saml-advanced-group-idp-mapper",
]);
