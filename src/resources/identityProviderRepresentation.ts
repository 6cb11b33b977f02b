// spec.identityProviders / spec.identityProviderMappers → the identity providers and mappers the
// realm should have. Pure, like the rest of the realm mapping. The CRD gives the common provider
// settings typed fields (booleans, enums, URLs) and keeps the rest in a free-form extraConfig;
// Keycloak keeps all of them in one string map, so here they are merged into `config` as strings.
// The client secret is not part of `config`: it travels beside it, resolved from its Secret, and the
// sync compares it through a keyed hash because Keycloak masks it on read.
import type { KeycloakRealmSpec } from "../api/index.js";
import type {
  DesiredIdentityProvider,
  DesiredIdentityProviderMapper,
  DesiredIdentityProviders,
} from "../keycloak/identityProviders.js";
import { definedOnly } from "./realmRepresentation.js";
import {
  identityProviderSecretReference,
  noSecrets,
  secretValue,
  type ResolvedSecrets,
} from "./secretReferences.js";

export type IdentityProviderSpec = NonNullable<KeycloakRealmSpec["identityProviders"]>[number];
export type IdentityProviderMapperSpec = NonNullable<KeycloakRealmSpec["identityProviderMappers"]>[number];
type TypedConfig = NonNullable<IdentityProviderSpec["config"]>;

/** Keycloak's config map: every value a string (booleans as "true"/"false"). */
function configStrings(config: TypedConfig | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config ?? {})) if (value !== undefined) out[key] = String(value);
  return out;
}

/** One identity provider, with its client secret when it references one. */
export function identityProviderRepresentation(
  idp: IdentityProviderSpec,
  clientSecret?: string,
): DesiredIdentityProvider {
  // The CRD refuses extraConfig keys the typed fields own; typed values win all the same.
  const config: Record<string, string> = {
    ...idp.extraConfig,
    ...configStrings(idp.config),
    ...(idp.syncMode !== undefined ? { syncMode: idp.syncMode } : {}),
  };
  return {
    rep: {
      alias: idp.alias,
      providerId: idp.providerId,
      ...definedOnly({
        displayName: idp.displayName,
        enabled: idp.enabled,
        trustEmail: idp.trustEmail,
        storeToken: idp.storeToken,
        linkOnly: idp.linkOnly,
        hideOnLogin: idp.hideOnLogin,
        firstBrokerLoginFlowAlias: idp.firstBrokerLoginFlowAlias,
        postBrokerLoginFlowAlias: idp.postBrokerLoginFlowAlias,
      }),
      config,
    },
    ...(clientSecret !== undefined ? { clientSecret } : {}),
  };
}

export function identityProviderMapperRepresentation(
  mapper: IdentityProviderMapperSpec,
): DesiredIdentityProviderMapper {
  return {
    name: mapper.name,
    identityProviderAlias: mapper.identityProviderAlias,
    identityProviderMapper: mapper.identityProviderMapper,
    config: { ...mapper.config, ...(mapper.syncMode !== undefined ? { syncMode: mapper.syncMode } : {}) },
  };
}

/**
 * The identity providers and mappers the spec manages, or undefined when it manages neither.
 * `providers` (or `mappers`) is absent when the spec leaves that list out, so that the sync neither
 * creates nor prunes any of them.
 */
export function desiredIdentityProviders(
  spec: KeycloakRealmSpec,
  secrets: ResolvedSecrets = noSecrets,
): DesiredIdentityProviders | undefined {
  if (spec.identityProviders === undefined && spec.identityProviderMappers === undefined) return undefined;
  const withSecret = (idp: IdentityProviderSpec) => {
    const [ref] = identityProviderSecretReference(idp);
    return identityProviderRepresentation(idp, ref && secretValue(secrets, ref));
  };
  return definedOnly<DesiredIdentityProviders>({
    providers: spec.identityProviders?.map(withSecret),
    mappers: spec.identityProviderMappers?.map(identityProviderMapperRepresentation),
  });
}
