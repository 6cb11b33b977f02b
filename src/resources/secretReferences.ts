// Every Secret a spec names, listed by the spec path that names it. The handler reads them all
// before mapping (src/operator/secrets.ts resolveSecretReferences), and the mapping takes each value
// by the same path, so a new secret-bearing field is one entry in the list and one `secretValue`
// call, never another parameter threaded through. Values are never logged or stored in status;
// messages name the path, the Secret and the key.
import type { KeycloakRealmSpec, KeycloakUserSpec, RealmLdapProvider } from "../api/index.js";

export interface SecretReference {
  /** The spec path that names the Secret: `spec.smtp.passwordSecretRef`. */
  field: string;
  name: string;
  key: string;
}

/** Secret values by the spec path that referenced them. */
export type ResolvedSecrets = ReadonlyMap<string, string>;

export const noSecrets: ResolvedSecrets = new Map();

/** A `{name, key?}` reference at `field`, with the key it defaults to. */
export function secretReference(
  field: string,
  ref: { name: string; key?: string } | undefined,
  defaultKey: string,
): SecretReference[] {
  return ref === undefined ? [] : [{ field, name: ref.name, key: ref.key ?? defaultKey }];
}

export const smtpPasswordReference = (spec: KeycloakRealmSpec) =>
  secretReference("spec.smtp.passwordSecretRef", spec.smtp?.passwordSecretRef, "password");

/** `spec.userFederation.ldap[corp]`: the path messages and Secret references use. */
export const ldapProviderPath = (name: string) => `spec.userFederation.ldap[${name}]`;

export const ldapBindCredentialReference = (provider: RealmLdapProvider) =>
  secretReference(
    `${ldapProviderPath(provider.name)}.bindCredentialRef`,
    provider.bindCredentialRef,
    "password",
  );

/** The client secret of one identity provider, when it names one. */
export const identityProviderSecretReference = (
  idp: NonNullable<KeycloakRealmSpec["identityProviders"]>[number],
) =>
  secretReference(
    `spec.identityProviders[${idp.alias}].clientSecretRef`,
    idp.clientSecretRef,
    "client-secret",
  );

/** Every Secret a KeycloakRealm spec references. */
export function realmSecretReferences(spec: KeycloakRealmSpec): SecretReference[] {
  return [
    ...smtpPasswordReference(spec),
    ...(spec.userFederation?.ldap ?? []).flatMap(ldapBindCredentialReference),
    ...(spec.identityProviders ?? []).flatMap(identityProviderSecretReference),
  ];
}

/**
 * The Secret a KeycloakUser is created with. Listed like every other reference, but the handler
 * resolves it only while the password has not been set: it is read once, at creation.
 */
export const initialPasswordReference = (spec: KeycloakUserSpec) =>
  secretReference("spec.initialPasswordSecretRef", spec.initialPasswordSecretRef, "password");

/** Every Secret a KeycloakUser spec references. */
export function userSecretReferences(spec: KeycloakUserSpec): SecretReference[] {
  return [...initialPasswordReference(spec)];
}

/**
 * The value resolved for `ref`. Throws when the caller did not resolve it: a mapping bug, named so
 * it can be found, never a value.
 */
export function secretValue(secrets: ResolvedSecrets, ref: SecretReference): string {
  const value = secrets.get(ref.field);
  if (value === undefined) {
    throw new Error(
      `${ref.field} names Secret "${ref.name}" key "${ref.key}", but its value was not resolved; ` +
        "read the spec's Secret references before mapping it",
    );
  }
  return value;
}
