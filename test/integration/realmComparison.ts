// Keycloak's own export of two realms made comparable field by field: a realm restored from a
// backup against the original, or a realm applied from `kpo export`'s resources against the realm
// they were exported from. What differs for reasons other than the realm's content goes: ids and
// other server-generated values, the operator's ownership marks and records, the realm's own name
// inside values (URLs, `default-roles-<realm>`), values Keycloak fills in at their defaults when
// it creates an object from a representation without them; lists of plain values are sorted and
// lists of objects ordered by name, since Keycloak keeps both as sets.

import type KcAdminClient from "@keycloak/keycloak-admin-client";

type Json = Record<string, unknown>;

/** Keycloak's partial export of a realm, with its clients, groups and roles. */
export async function partialExport(admin: KcAdminClient, realm: string): Promise<Json> {
  return (await admin.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true })) as Json;
}

/**
 * Values Keycloak fills in when it creates a realm from a representation that did not have them,
 * at their defaults (realm session limits, the userinfo claim of protocol mappers, a client's
 * post-logout redirect URIs): the same meaning as absent.
 */
const IMPORT_DEFAULTS: Record<string, string> = {
  clientOfflineSessionIdleTimeout: "0",
  clientOfflineSessionMaxLifespan: "0",
  clientSessionIdleTimeout: "0",
  clientSessionMaxLifespan: "0",
  "userinfo.token.claim": "true",
  "post.logout.redirect.uris": "+",
};

/** Attributes whose values the server generates per object. */
const GENERATED_ATTRIBUTES = new Set(["client.secret.creation.time"]);

/** Config entries that hold a JSON document (the declarative user profile): compared parsed. */
const JSON_CONFIG = new Set(["kc.user.profile.config"]);

/** Keys whose values the server generates per object. */
const GENERATED = new Set([
  "id",
  "containerId",
  "_id",
  "internalId",
  "parentId",
  "flowId",
  "createdTimestamp",
]);

const nameOf = (item: unknown): string => {
  if (typeof item !== "object" || item === null) return "";
  const o = item as Json;
  // Components share a name across subtypes (the anonymous and authenticated registration policies).
  const subType = typeof o.subType === "string" ? `/${o.subType}` : "";
  for (const key of ["alias", "name", "clientId", "username", "realm", "providerId", "authenticator"])
    if (typeof o[key] === "string") return `${key}:${String(o[key])}${subType}`;
  return JSON.stringify(o);
};

/** The comparable form of an export; `realm` is replaced by `${realm}` in every string when given. */
export function normalised(value: unknown, realm?: string): unknown {
  if (typeof value === "string") return realm ? value.replaceAll(realm, "${realm}") : value;
  if (Array.isArray(value)) {
    const items = value.map((v) => normalised(v, realm));
    if (items.every((i) => typeof i !== "object" || i === null)) return items.map(String).sort();
    return items.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  }
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json).sort(([a], [b]) => a.localeCompare(b))) {
    if (GENERATED.has(k)) continue;
    if (IMPORT_DEFAULTS[k] !== undefined && v === IMPORT_DEFAULTS[k]) continue;
    if (
      ["attributes", "config", "annotations"].includes(k) &&
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v)
    ) {
      const entries = Object.entries(v as Json)
        .filter(([a]) => !a.startsWith("kpo.dev/") && !GENERATED_ATTRIBUTES.has(a))
        .map(([a, value]) => [a, JSON_CONFIG.has(a) ? parsedJson(value) : value]);
      out[k] = normalised(Object.fromEntries(entries), realm);
    } else out[realm ? k.replaceAll(realm, "${realm}") : k] = normalised(v, realm);
  }
  return out;
}

/** A JSON document kept as a string (or a one-string list), parsed. */
function parsedJson(value: unknown): unknown {
  const text: unknown = Array.isArray(value) && value.length === 1 ? (value as unknown[])[0] : value;
  return typeof text === "string" ? (JSON.parse(text) as unknown) : value;
}
