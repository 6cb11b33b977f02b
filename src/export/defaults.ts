// What Keycloak gives an object nobody configured, captured from the pinned Keycloak by
// scripts/gen-keycloak-defaults.ts into keycloak-defaults.json: a new realm's partial export (its
// settings and its built-in clients, client scopes, roles, flows and components), a new OIDC client,
// a new SAML client and a new user. The export leaves out values equal to these and objects that
// every new realm has. Server-generated ids are dropped and the probe realm's name is replaced by
// REALM_PLACEHOLDER, so `default-roles-${realm}` and the built-in clients' URLs match any realm.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import captured from "./keycloak-defaults.json" with { type: "json" };

export type Representation = Record<string, unknown>;

export interface KeycloakDefaults {
  keycloakVersion: string;
  /** A new realm's partial export (clients, roles, groups included). */
  realm: Representation;
  /** A client created with only its clientId (openid-connect). */
  oidcClient: Representation;
  /** A client created with only its clientId and protocol saml. */
  samlClient: Representation;
  /** A user created with only its username. */
  user: Representation;
}

export const REALM_PLACEHOLDER = "${realm}";

export const keycloakDefaultsPath = join(
  fileURLToPath(new URL(".", import.meta.url)),
  "keycloak-defaults.json",
);

/**
 * Values Keycloak generates per object; never defaults (and a SAML client's key pair is a private
 * key, which has no place in a source file).
 */
const generatedKeys = new Set([
  "id",
  "containerId",
  "createdTimestamp",
  "secret",
  "registrationAccessToken",
  "saml.signing.private.key",
  "saml.signing.certificate",
]);

/** A copy without generated values, with `realm` replaced by the placeholder in every string. */
export function normalizeDefaults<T>(value: T, realm: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.replaceAll(realm, REALM_PLACEHOLDER);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== "object" || v === null) return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !generatedKeys.has(k))
        .map(([k, child]) => [k, walk(child)]),
    );
  };
  return walk(value) as T;
}

/** `value` with the placeholder replaced by `realm`, for comparing with one realm's objects. */
export function forRealm<T>(value: T, realm: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll(REALM_PLACEHOLDER, realm)) as T;
}

export const keycloakDefaults: KeycloakDefaults = captured;
