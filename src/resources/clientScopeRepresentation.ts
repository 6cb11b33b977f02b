// KeycloakRealm spec.clientScopes, spec.defaultClientScopes and spec.optionalClientScopes → the
// client scopes the realm should have. Pure. Scope settings Keycloak keeps as attributes (token
// scope, consent screen, console order) have typed fields in the CRD and become string attributes
// here; every mapper gets the scope's protocol, because Keycloak requires them to match.
import type { KeycloakRealmSpec, RealmClientScope } from "../api/index.js";
import type { DesiredClientScope, DesiredClientScopes } from "../keycloak/clientScopes.js";
import { protocolMapperRepresentation } from "./clientRepresentation.js";
import { definedOnly, roleComposites } from "./realmRepresentation.js";

/** Client scope attributes behind the CRD's typed fields. */
export const clientScopeAttributeKeys = {
  includeInTokenScope: "include.in.token.scope",
  displayOnConsentScreen: "display.on.consent.screen",
  consentScreenText: "consent.screen.text",
  guiOrder: "gui.order",
} as const;

function scopeAttributes(scope: RealmClientScope): Record<string, string> {
  const str = (v: boolean | number | undefined) => (v === undefined ? undefined : String(v));
  const typed = definedOnly<Record<string, string | undefined>>({
    [clientScopeAttributeKeys.includeInTokenScope]: str(scope.includeInTokenScope),
    [clientScopeAttributeKeys.displayOnConsentScreen]: str(scope.displayOnConsentScreen),
    [clientScopeAttributeKeys.consentScreenText]: scope.consentScreenText,
    [clientScopeAttributeKeys.guiOrder]: str(scope.guiOrder),
  }) as Record<string, string>;
  return { ...(scope.attributes ?? {}), ...typed };
}

export function clientScopeRepresentation(scope: RealmClientScope): DesiredClientScope {
  const protocol = scope.protocol ?? "openid-connect";
  const mappings = scope.scopeMappings;
  return {
    name: scope.name,
    protocol,
    attributes: scopeAttributes(scope),
    ...definedOnly<Omit<DesiredClientScope, "name" | "protocol" | "attributes">>({
      description: scope.description,
      protocolMappers: scope.protocolMappers?.map((m) => protocolMapperRepresentation({ ...m, protocol })),
      scopeMappings:
        mappings === undefined
          ? undefined
          : roleComposites({ realm: mappings.realmRoles, client: mappings.clientRoles }),
    }),
  };
}

/** Undefined when the spec manages none of the three lists. */
export function desiredClientScopes(spec: KeycloakRealmSpec): DesiredClientScopes | undefined {
  const desired = definedOnly<DesiredClientScopes>({
    scopes: spec.clientScopes?.map(clientScopeRepresentation),
    defaultScopes: spec.defaultClientScopes === undefined ? undefined : [...spec.defaultClientScopes],
    optionalScopes: spec.optionalClientScopes === undefined ? undefined : [...spec.optionalClientScopes],
  });
  return Object.keys(desired).length === 0 ? undefined : desired;
}
