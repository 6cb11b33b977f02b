// The OpenID Connect endpoints of a realm, written into the client credentials Secret. Read from
// the realm's discovery document when possible (it reflects Keycloak's hostname settings, e.g. a
// public hostname different from the URL the operator uses), computed from the base URL otherwise.
import type { KeycloakConnection } from "./connection.js";

export interface RealmEndpoints {
  issuer: string;
  tokenEndpoint: string;
  authorizationEndpoint: string;
  userinfoEndpoint: string;
  jwksUri: string;
  /** Where these came from. */
  source: "discovery" | "computed";
}

/** The endpoints Keycloak uses by default, derived from its base URL. */
export function computeRealmEndpoints(baseUrl: string, realm: string): RealmEndpoints {
  const issuer = `${baseUrl.replace(/\/+$/, "")}/realms/${encodeURIComponent(realm)}`;
  const oidc = `${issuer}/protocol/openid-connect`;
  return {
    issuer,
    tokenEndpoint: `${oidc}/token`,
    authorizationEndpoint: `${oidc}/auth`,
    userinfoEndpoint: `${oidc}/userinfo`,
    jwksUri: `${oidc}/certs`,
    source: "computed",
  };
}

/**
 * The realm's endpoints from `.well-known/openid-configuration`, fetched through `conn` (so its
 * TLS settings, limits and breaker apply) or with plain fetch; falls back to the computed ones
 * when the document cannot be read or lacks a field. Errors are not thrown: the computed values
 * are always a usable answer.
 */
export async function realmEndpoints(
  baseUrl: string,
  realm: string,
  options: { conn?: KeycloakConnection; namespace?: string; timeoutMs?: number } = {},
): Promise<RealmEndpoints> {
  const computed = computeRealmEndpoints(baseUrl, realm);
  const path = `/realms/${encodeURIComponent(realm)}/.well-known/openid-configuration`;
  let doc: unknown;
  try {
    if (options.conn) {
      doc = await options.conn.getPublicJson(
        path,
        `read discovery document of realm "${realm}"`,
        options.namespace,
      );
    } else {
      const response = await fetch(`${baseUrl.replace(/\/+$/, "")}${path}`, {
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (!response.ok) return computed;
      doc = await response.json();
    }
  } catch {
    return computed;
  }
  if (typeof doc !== "object" || doc === null) return computed;
  const d = doc as Record<string, unknown>;
  const pick = (key: string, fallback: string): string =>
    typeof d[key] === "string" && d[key] !== "" ? d[key] : fallback;
  return {
    issuer: pick("issuer", computed.issuer),
    tokenEndpoint: pick("token_endpoint", computed.tokenEndpoint),
    authorizationEndpoint: pick("authorization_endpoint", computed.authorizationEndpoint),
    userinfoEndpoint: pick("userinfo_endpoint", computed.userinfoEndpoint),
    jwksUri: pick("jwks_uri", computed.jwksUri),
    source: "discovery",
  };
}
