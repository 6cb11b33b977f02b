// Diff-based client sync, same rules as the realm sync: read, compare managed fields, write only
// what differs, in a fixed order (client settings, client roles, protocol mappers, client scopes,
// service-account roles). Plus the client secret operations the credentials Secret needs.
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import type { KeycloakConnection } from "./connection.js";
import { changedFields, isSubsetEqual, setDifference } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, checkOwnership, isOwnedBy, ownerAttributes, type Owner } from "./ownership.js";
import type { SyncOptions, SyncResult } from "./realmSync.js";
import { SyncSession, managedAttribute, resolveRoleKeys, roleKey, roleKeysOf } from "./session.js";

export type { ClientRepresentation, ProtocolMapperRepresentation };

/** Realm roles by name and client roles by clientId → names. */
export interface RoleSet {
  realm?: string[];
  client?: Record<string, string[]>;
}

export interface DesiredClient {
  /** Managed client settings; `clientId` is required. Attributes are merged, not replaced. */
  client: ClientRepresentation & { clientId: string };
  /** Client roles; ones the operator created and that are no longer listed are deleted. */
  roles?: RoleRepresentation[];
  /** Exactly these mappers (by name) when present. */
  protocolMappers?: ProtocolMapperRepresentation[];
  /**
   * Roles of the client's service account. Roles granted by someone else are left alone; roles this
   * operator granted and that are no longer listed are revoked.
   */
  serviceAccountRoles?: RoleSet;
  /** Exactly these default client scopes (by name) when present. */
  defaultClientScopes?: string[];
  /** Exactly these optional client scopes (by name) when present. */
  optionalClientScopes?: string[];
}

/** Client attribute listing the service-account roles the operator granted (sorted JSON keys). */
export const serviceAccountRolesAttribute = "kpo.dev/service-account-roles";

const clientSkip = new Set([
  "clientId",
  "id",
  "secret",
  "protocolMappers",
  "defaultClientScopes",
  "optionalClientScopes",
]);

function describeClient(conn: KeycloakConnection, realm: string, clientId: string): string {
  return `Client "${clientId}" in realm "${realm}" on Keycloak instance ${conn.instance}`;
}

export async function syncClient(
  conn: KeycloakConnection,
  realmName: string,
  desired: DesiredClient,
  owner: Owner,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const clientOwner: Owner = { kind: "KeycloakClient", ...owner };
  const clientId = desired.client.clientId;
  const { id, actual } = await syncClientSettings(session, desired, clientOwner, options.adopt ?? false);
  if (desired.roles) await syncClientRoles(session, id, clientId, desired.roles, options.adopt ?? false);
  if (desired.protocolMappers)
    await syncProtocolMappers(session, id, clientId, desired.protocolMappers, actual?.protocolMappers ?? []);
  if (desired.defaultClientScopes)
    await syncClientScopes(session, id, clientId, "default", desired.defaultClientScopes);
  if (desired.optionalClientScopes)
    await syncClientScopes(session, id, clientId, "optional", desired.optionalClientScopes);
  if (desired.serviceAccountRoles) {
    const attributes = (actual?.attributes ?? {}) as Record<string, unknown>;
    await syncServiceAccountRoles(
      session,
      id,
      clientId,
      desired.serviceAccountRoles,
      attributes,
      clientOwner,
    );
  }
  return { created: actual === undefined, writes: session.writes, changedFields: session.changed };
}

async function findClient(session: SyncSession, clientId: string): Promise<ClientRepresentation | undefined> {
  const found = await session.read(`find client "${clientId}" in realm "${session.realm}"`, (kc) =>
    kc.clients.find({ realm: session.realm, clientId }),
  );
  return found.find((c) => c.clientId === clientId);
}

const builtinClients = new Set([
  "realm-management",
  "admin-cli",
  "security-admin-console",
  "broker",
  "account",
  "account-console",
]);

/** Keycloak's own clients, which administer or serve the realm: never created, adopted or changed. */
export function isBuiltinClient(clientId: string, realm: string): boolean {
  return builtinClients.has(clientId) || (realm === "master" && clientId.endsWith("-realm"));
}

async function syncClientSettings(
  session: SyncSession,
  desired: DesiredClient,
  owner: Owner,
  adopt: boolean,
): Promise<{ id: string; actual: ClientRepresentation | undefined }> {
  const realm = session.realm;
  const clientId = desired.client.clientId;
  const {
    protocolMappers: _m,
    defaultClientScopes: _d,
    optionalClientScopes: _o,
    ...settings
  } = desired.client;
  const attributes: Record<string, string> = {
    ...(settings.attributes as Record<string, string> | undefined),
    ...ownerAttributes(owner),
  };
  if (isBuiltinClient(clientId, realm)) {
    // The policies refuse these first; this is the sync's own guarantee.
    throw new OwnershipError(
      `${describeClient(session.conn, realm, clientId)} is one of Keycloak's own clients and is never changed by a KeycloakClient; choose another clientId`,
    );
  }
  const actual = await findClient(session, clientId);
  if (!actual?.id) {
    const created = await session.create("client", `create client "${clientId}" in realm "${realm}"`, (kc) =>
      kc.clients.create({ realm, ...settings, attributes }),
    );
    return { id: created.id, actual: undefined };
  }
  const id = actual.id;
  checkOwnership(describeClient(session.conn, realm, clientId), actual.attributes, owner, adopt);
  const want: Record<string, unknown> = { ...settings, attributes };
  const changed = changedFields(want, actual as Record<string, unknown>, clientSkip);
  if (changed.length > 0) {
    const update: Record<string, unknown> = { clientId };
    for (const field of changed) {
      if (field.startsWith("attributes.")) update.attributes = { ...actual.attributes, ...attributes };
      else update[field] = want[field];
    }
    session.changed.push(...changed.filter((f) => !session.changed.includes(f)));
    await session.write(
      "PUT",
      changed[0] ?? "client",
      `update client "${clientId}" in realm "${realm}" (${changed.join(", ")})`,
      (kc) => kc.clients.update({ realm, id }, update as ClientRepresentation),
    );
  }
  if (settings.secret !== undefined && !actual.publicClient) {
    const current = await session.read(`read secret of client "${clientId}" in realm "${realm}"`, (kc) =>
      kc.clients.getClientSecret({ realm, id }),
    );
    if (current.value !== settings.secret) {
      await session.write("PUT", "secret", `set secret of client "${clientId}" in realm "${realm}"`, (kc) =>
        kc.clients.update({ realm, id }, { clientId, secret: settings.secret }),
      );
    }
  }
  return { id, actual };
}

function asList(attributes: Record<string, unknown> | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(attributes ?? {}))
    result[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  return result;
}

async function syncClientRoles(
  session: SyncSession,
  id: string,
  clientId: string,
  desired: RoleRepresentation[],
  adopt: boolean,
): Promise<void> {
  const realm = session.realm;
  const list = await session.read(`list roles of client "${clientId}" in realm "${realm}"`, (kc) =>
    // The admin client passes extra GET payload keys as query parameters.
    kc.clients.listRoles({ realm, id, briefRepresentation: false } as { realm: string; id: string }),
  );
  const actual = new Map(list.filter((r) => r.name).map((r) => [r.name ?? "", r]));
  const sorted = [...desired].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  for (const role of sorted) {
    const name = role.name ?? "";
    const attributes = { ...asList(role.attributes), [managedAttribute]: ["true"] };
    const existing = actual.get(name);
    if (!existing) {
      await session.create(`role:${name}`, `create role "${name}" of client "${clientId}"`, (kc) =>
        kc.clients.createRole({
          realm,
          id,
          name,
          attributes,
          ...(role.description !== undefined ? { description: role.description } : {}),
        }),
      );
      continue;
    }
    // A role this operator did not create is changed only in a client this CR adopted.
    if (attributeValue(existing.attributes, managedAttribute) !== "true" && !adopt) {
      throw new OwnershipError(
        `Role "${name}" of client "${clientId}" already exists and was not created by this operator; it is left alone. Rename it in spec.roles`,
      );
    }
    const descriptionDiffers = role.description !== undefined && role.description !== existing.description;
    if (descriptionDiffers || !isSubsetEqual(attributes, existing.attributes ?? {})) {
      const rep: RoleRepresentation = {
        name,
        description: role.description ?? existing.description ?? "",
        attributes: { ...existing.attributes, ...attributes },
      };
      await session.write("PUT", `role:${name}`, `update role "${name}" of client "${clientId}"`, (kc) =>
        kc.clients.updateRole({ realm, id, roleName: name }, rep),
      );
    }
  }
  const wanted = new Set(sorted.map((r) => r.name));
  for (const [name, existing] of [...actual].sort(([a], [b]) => a.localeCompare(b))) {
    if (wanted.has(name) || attributeValue(existing.attributes, managedAttribute) !== "true") continue;
    await session.write(
      "DELETE",
      `role:${name}`,
      `delete role "${name}" (no longer in the spec) of client "${clientId}"`,
      (kc) => kc.clients.delRole({ realm, id, roleName: name }),
    );
  }
  session.forgetClientRoles(id);
}

async function syncProtocolMappers(
  session: SyncSession,
  id: string,
  clientId: string,
  desired: ProtocolMapperRepresentation[],
  actualList: ProtocolMapperRepresentation[],
): Promise<void> {
  const realm = session.realm;
  const actual = new Map(actualList.filter((m) => m.name).map((m) => [m.name ?? "", m]));
  const sorted = [...desired].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  for (const mapper of sorted) {
    const name = mapper.name ?? "";
    const existing = actual.get(name);
    const rep: ProtocolMapperRepresentation = { protocol: "openid-connect", ...mapper };
    if (!existing?.id) {
      await session.create(
        `protocolMapper:${name}`,
        `add protocol mapper "${name}" to client "${clientId}"`,
        (kc) => kc.clients.addProtocolMapper({ realm, id }, rep),
      );
    } else if (!isSubsetEqual(rep, existing)) {
      const mapperId = existing.id;
      await session.write(
        "PUT",
        `protocolMapper:${name}`,
        `update protocol mapper "${name}" of client "${clientId}"`,
        (kc) => kc.clients.updateProtocolMapper({ realm, id, mapperId }, { ...rep, id: mapperId }),
      );
    }
  }
  const wanted = new Set(sorted.map((m) => m.name));
  for (const [name, existing] of [...actual].sort(([a], [b]) => a.localeCompare(b))) {
    if (wanted.has(name) || !existing.id) continue;
    const mapperId = existing.id;
    await session.write(
      "DELETE",
      `protocolMapper:${name}`,
      `remove protocol mapper "${name}" from client "${clientId}"`,
      (kc) => kc.clients.delProtocolMapper({ realm, id, mapperId }),
    );
  }
}

async function syncClientScopes(
  session: SyncSession,
  id: string,
  clientId: string,
  kind: "default" | "optional",
  desired: string[],
): Promise<void> {
  const realm = session.realm;
  const current = await session.read(`list ${kind} client scopes of client "${clientId}"`, (kc) =>
    kind === "default"
      ? kc.clients.listDefaultClientScopes({ realm, id })
      : kc.clients.listOptionalClientScopes({ realm, id }),
  );
  const { toAdd, toRemove } = setDifference(
    desired,
    current.map((s) => s.name ?? ""),
  );
  if (toAdd.length === 0 && toRemove.length === 0) return;
  const all = await session.read(`list client scopes of realm "${realm}"`, (kc) =>
    kc.clientScopes.find({ realm }),
  );
  const idOf = new Map(
    [...all, ...current].filter((s) => s.name && s.id).map((s) => [s.name ?? "", s.id ?? ""]),
  );
  const field = `${kind}ClientScopes`;
  for (const name of toRemove) {
    const clientScopeId = idOf.get(name) ?? "";
    await session.write(
      "DELETE",
      field,
      `remove ${kind} client scope "${name}" from client "${clientId}"`,
      (kc) =>
        kind === "default"
          ? kc.clients.delDefaultClientScope({ realm, id, clientScopeId })
          : kc.clients.delOptionalClientScope({ realm, id, clientScopeId }),
    );
  }
  for (const name of toAdd) {
    const clientScopeId = idOf.get(name);
    if (!clientScopeId) {
      throw new MissingReferenceError(
        `Client "${clientId}" lists ${kind} client scope "${name}", which does not exist in realm "${realm}"; ` +
          "create the client scope or remove it from the list",
      );
    }
    await session.write("PUT", field, `add ${kind} client scope "${name}" to client "${clientId}"`, (kc) =>
      kind === "default"
        ? kc.clients.addDefaultClientScope({ realm, id, clientScopeId })
        : kc.clients.addOptionalClientScope({ realm, id, clientScopeId }),
    );
  }
}

async function syncServiceAccountRoles(
  session: SyncSession,
  id: string,
  clientId: string,
  desired: RoleSet,
  clientAttributes: Record<string, unknown>,
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const usedBy = `Client "${clientId}" (service account roles)`;
  const user = await session.read(`read service account of client "${clientId}"`, (kc) =>
    kc.clients.getServiceAccountUser({ realm, id }),
  );
  if (!user.id) {
    throw new MissingReferenceError(
      `Client "${clientId}" in realm "${realm}" has service account roles but no service account; ` +
        "set serviceAccountsEnabled: true (and a confidential client) or remove the roles",
    );
  }
  const userId = user.id;
  const mappings = await session.read(`read service account roles of client "${clientId}"`, (kc) =>
    kc.users.listRoleMappings({ realm, id: userId }),
  );
  const actualKeys = new Map<string, { id: string; name: string; clientUuid?: string }>();
  for (const r of mappings.realmMappings ?? [])
    if (r.id && r.name) actualKeys.set(roleKey({ name: r.name }), { id: r.id, name: r.name });
  for (const [cid, entry] of Object.entries(
    (mappings.clientMappings ?? {}) as Record<string, { id?: string; mappings?: RoleRepresentation[] }>,
  )) {
    for (const r of entry.mappings ?? []) {
      if (r.id && r.name)
        actualKeys.set(roleKey({ clientId: cid, name: r.name }), {
          id: r.id,
          name: r.name,
          ...(entry.id ? { clientUuid: entry.id } : {}),
        });
    }
  }
  const desiredKeys = roleKeysOf(desired);
  const recorded = parseRecorded(attributeValue(clientAttributes, serviceAccountRolesAttribute));
  const toAdd = desiredKeys.filter((k) => !actualKeys.has(k)).sort();
  const wanted = new Set(desiredKeys);
  const toRemove = recorded.filter((k) => !wanted.has(k) && actualKeys.has(k)).sort();

  if (toAdd.length > 0) {
    const refs = await resolveRoleKeys(session, toAdd, usedBy);
    if (refs.realm.length > 0) {
      await session.write(
        "POST",
        "serviceAccountRoles",
        `grant realm roles to the service account of client "${clientId}"`,
        (kc) => kc.users.addRealmRoleMappings({ realm, id: userId, roles: refs.realm }),
      );
    }
    for (const [clientUniqueId, roles] of refs.client) {
      await session.write(
        "POST",
        "serviceAccountRoles",
        `grant client roles to the service account of client "${clientId}"`,
        (kc) => kc.users.addClientRoleMappings({ realm, id: userId, clientUniqueId, roles }),
      );
    }
  }
  if (toRemove.length > 0) {
    const realmRoles = toRemove
      .filter((k) => k.startsWith("realm:"))
      .map((k) => actualKeys.get(k))
      .filter((r) => r !== undefined);
    if (realmRoles.length > 0) {
      const roles = realmRoles.map((r) => ({ id: r.id, name: r.name }));
      await session.write(
        "DELETE",
        "serviceAccountRoles",
        `revoke realm roles from the service account of client "${clientId}"`,
        (kc) => kc.users.delRealmRoleMappings({ realm, id: userId, roles }),
      );
    }
    const byClient = new Map<string, { id: string; name: string }[]>();
    for (const k of toRemove.filter((k) => k.startsWith("client:"))) {
      const r = actualKeys.get(k);
      if (!r?.clientUuid) continue;
      byClient.set(r.clientUuid, [...(byClient.get(r.clientUuid) ?? []), { id: r.id, name: r.name }]);
    }
    for (const [clientUniqueId, roles] of byClient) {
      await session.write(
        "DELETE",
        "serviceAccountRoles",
        `revoke client roles from the service account of client "${clientId}"`,
        (kc) => kc.users.delClientRoleMappings({ realm, id: userId, clientUniqueId, roles }),
      );
    }
  }
  const record = JSON.stringify([...wanted].sort());
  if (attributeValue(clientAttributes, serviceAccountRolesAttribute) !== record) {
    // Re-read: earlier steps of this sync may have changed the client's attributes.
    const current = await findClient(session, clientId);
    const attributes = {
      ...current?.attributes,
      ...ownerAttributes(owner),
      [serviceAccountRolesAttribute]: record,
    };
    await session.write(
      "PUT",
      "serviceAccountRoles",
      `record service account roles of client "${clientId}"`,
      (kc) => kc.clients.update({ realm, id }, { clientId, attributes }),
    );
  }
}

function parseRecorded(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

async function requireClient(
  session: SyncSession,
  clientId: string,
): Promise<ClientRepresentation & { id: string }> {
  const client = await findClient(session, clientId);
  if (!client?.id) {
    throw new MissingReferenceError(
      `${describeClient(session.conn, session.realm, clientId)} does not exist; it is created by the KeycloakClient's sync`,
    );
  }
  return { ...client, id: client.id };
}

/** The current secret of a confidential client. Never log the result. */
export async function getClientSecret(
  conn: KeycloakConnection,
  realmName: string,
  clientId: string,
  namespace?: string,
): Promise<string> {
  const session = new SyncSession(conn, realmName, namespace ?? "");
  const client = await requireClient(session, clientId);
  const credential = await session.read(`read secret of client "${clientId}" in realm "${realmName}"`, (kc) =>
    kc.clients.getClientSecret({ realm: realmName, id: client.id }),
  );
  if (typeof credential.value !== "string" || credential.value === "") {
    throw new MissingReferenceError(
      `${describeClient(conn, realmName, clientId)} has no secret; only confidential clients (publicClient: false) have one`,
    );
  }
  return credential.value;
}

/** Regenerates the secret of a client this CR owns; the old secret stops working. Returns the new one. */
export async function rotateClientSecret(
  conn: KeycloakConnection,
  realmName: string,
  clientId: string,
  owner: Owner,
): Promise<string> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const client = await requireClient(session, clientId);
  checkOwnership(
    describeClient(conn, realmName, clientId),
    client.attributes,
    { kind: "KeycloakClient", ...owner },
    false,
  );
  const credential = await session.write(
    "POST",
    "secret",
    `regenerate secret of client "${clientId}" in realm "${realmName}"`,
    (kc) => kc.clients.generateNewClientSecret({ realm: realmName, id: client.id }),
  );
  if (typeof credential.value !== "string" || credential.value === "") {
    throw new MissingReferenceError(
      `${describeClient(conn, realmName, clientId)} returned no secret after regeneration`,
    );
  }
  return credential.value;
}

/** Deletes a client this CR owns. Returns false when it did not exist. */
export async function deleteClient(
  conn: KeycloakConnection,
  realmName: string,
  clientId: string,
  owner: Owner,
): Promise<boolean> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  let client: ClientRepresentation | undefined;
  try {
    client = await findClient(session, clientId);
  } catch (err) {
    // The realm itself is gone: so is the client.
    if (err instanceof KeycloakApiError && err.status === 404) return false;
    throw err;
  }
  if (!client?.id) return false;
  const id = client.id;
  // Only what this CR created (or adopted) is deleted: a client it never owned (it was refused, or
  // another resource manages it) is left alone, and the CR is released.
  if (!isOwnedBy(client.attributes, owner)) return false;
  try {
    await session.write("DELETE", "client", `delete client "${clientId}" from realm "${realmName}"`, (kc) =>
      kc.clients.del({ realm: realmName, id }),
    );
  } catch (err) {
    if (err instanceof KeycloakApiError && err.status === 404) return false;
    throw err;
  }
  return true;
}
