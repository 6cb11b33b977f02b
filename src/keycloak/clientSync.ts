// Diff-based client sync, same rules as the realm sync: read, compare managed fields, write only
// what differs, in a fixed order (client settings, client roles, protocol mappers, client scopes,
// authorization services, service-account roles and groups). Plus the client secret operations the credentials Secret needs.
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import { randomInt } from "node:crypto";
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { resolveFlowOverrides } from "./authenticationFlows.js";
import { syncAuthorization, type DesiredAuthorization } from "./authorizationServices.js";
import { indexByName, markedItems, syncCollection, type Collection } from "./collection.js";
import type { KeycloakConnection } from "./connection.js";
import { changedFields, fieldValues } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, checkOwnership, isOwnedBy, ownerAttributes, type Owner } from "./ownership.js";
import type { SyncOptions, SyncResult } from "./realmSync.js";
import {
  heldOfMappings,
  parseRecordedKeys,
  reconcileRoleRefs,
  roleKeysOf,
  roleMappingsOf,
  syncRoleComposites,
} from "./roleReferences.js";
import { protocolMapperCollection } from "./protocolMappers.js";
import { recordOnClient } from "./clientRecord.js";
import { serviceAccountUserId, syncServiceAccountGroups } from "./serviceAccountGroups.js";
import { SyncSession } from "./session.js";

export type { ClientRepresentation, ProtocolMapperRepresentation };

/** Realm roles by name and client roles by clientId → names. */
export interface RoleSet {
  realm?: string[];
  client?: Record<string, string[]>;
}

export interface DesiredClient {
  /** Managed client settings; `clientId` is required. Attributes are merged, not replaced. */
  client: ClientRepresentation & { clientId: string };
  /**
   * Client roles; ones the operator created and that are no longer listed are deleted. A role's
   * `composites` (realm roles, client roles by clientId) is managed exactly when present.
   */
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
  /** Flow overrides by Keycloak key (`browser`, `direct_grant`) → flow alias, resolved to ids on sync. */
  authenticationFlowBindingOverrides?: Record<string, string>;
  /** Groups (by path) the service account is a member of; only memberships the operator added are removed. */
  serviceAccountGroups?: string[];
  /** The client's resource server (Authorization Services), exactly as listed, when present. */
  authorization?: DesiredAuthorization;
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

export interface ClientSyncOptions extends SyncOptions {
  /**
   * The caller has never seen this client created (its CR records no client yet): the sync sends
   * the create straight away instead of looking the client up first, and looks it up only if
   * Keycloak says it exists (409). Ignored when adopting and in plan mode.
   */
  expectNew?: boolean;
}

/** A client sync's result, with the client it synced: callers use its id instead of finding it again. */
export interface ClientSyncResult extends SyncResult {
  client: ClientRef;
  /**
   * The client's current secret, when the sync read it or created the client with it: Keycloak
   * includes it in the representation it returns to a caller allowed to manage clients. Absent when
   * the sync wrote to an existing client, or when Keycloak masked it. Never log it.
   */
  secret?: string;
}

/** What Keycloak puts in place of a secret the caller may not see. */
const maskedSecret = /^\*+$/;

/** Keycloak's own shape for a generated client secret: 32 letters and digits. */
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const secretLength = 32;

/**
 * A new client secret, made here so that the create carries it and the operator knows it without
 * reading it back (one request per new client instead of two). Same alphabet and length as
 * Keycloak's generator, from the platform's CSPRNG (about 190 bits).
 */
export function newClientSecret(): string {
  let out = "";
  for (let i = 0; i < secretLength; i++) out += secretAlphabet[randomInt(secretAlphabet.length)];
  return out;
}

/** The secret a representation carries, if it is the real one. */
function secretIn(rep: ClientRepresentation | undefined): string | undefined {
  const secret = rep?.secret;
  return typeof secret === "string" && secret !== "" && !maskedSecret.test(secret) ? secret : undefined;
}

export async function syncClient(
  conn: KeycloakConnection,
  realmName: string,
  spec: DesiredClient,
  owner: Owner,
  options: ClientSyncOptions = {},
): Promise<ClientSyncResult> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const clientOwner: Owner = { kind: "KeycloakClient", ...owner };
  const clientId = spec.client.clientId;
  const adopt = options.adopt ?? false;
  // Flow aliases become the ids Keycloak stores, before the first write (an unknown one stops here).
  const overrides = spec.authenticationFlowBindingOverrides;
  const desired: DesiredClient = overrides
    ? {
        ...spec,
        client: {
          ...spec.client,
          authenticationFlowBindingOverrides: await resolveFlowOverrides(session, clientId, overrides),
        },
      }
    : spec;
  const expectNew = (options.expectNew ?? false) && !adopt && !conn.plan;
  const { id, actual, createdWithSecret } = await syncClientSettings(
    session,
    desired,
    clientOwner,
    adopt,
    expectNew,
  );
  const client = { id, clientId };
  if (desired.roles) await syncClientRoles(session, client, desired.roles, markedItems(clientOwner, adopt));
  if (desired.protocolMappers) {
    const mappers = protocolMappers(session, client, actual?.protocolMappers ?? []);
    await syncCollection(session, mappers, desired.protocolMappers);
  }
  for (const kind of ["default", "optional"] as const) {
    const scopes = desired[`${kind}ClientScopes`];
    if (scopes) await syncCollection(session, clientScopes(session, client, kind), scopes);
  }
  if (desired.authorization) await syncAuthorization(session, client, desired.authorization, clientOwner);
  if (desired.serviceAccountRoles) {
    const attributes = (actual?.attributes ?? {}) as Record<string, unknown>;
    await syncServiceAccountRoles(session, client, desired.serviceAccountRoles, attributes, clientOwner);
  }
  if (desired.serviceAccountGroups) {
    const attributes = (actual?.attributes ?? {}) as Record<string, unknown>;
    await syncServiceAccountGroups(session, client, desired.serviceAccountGroups, attributes, clientOwner);
  }
  // After any write to the client (settings, type, secret) the representation read before it may be
  // out of date: the caller reads the secret by id instead.
  const secret = createdWithSecret ?? (session.writes > 0 ? undefined : secretIn(actual));
  return {
    created: actual === undefined,
    writes: session.writes,
    changedFields: session.changed,
    client,
    ...(secret !== undefined ? { secret } : {}),
  };
}

async function findClient(session: SyncSession, clientId: string): Promise<ClientRepresentation | undefined> {
  const found = await session.read(`find client "${clientId}" in realm "${session.realm}"`, (kc) =>
    kc.clients.find({ realm: session.realm, clientId }),
  );
  return found.find((c) => c.clientId === clientId);
}

/**
 * The client as the sync compares it: from the realm's shared client list while that is fresh
 * (./clientSnapshot.ts: at most its max age old, and no write since), else found directly.
 */
async function findSyncedClient(
  session: SyncSession,
  clientId: string,
): Promise<ClientRepresentation | undefined> {
  const listed = await session.conn.clientSnapshots.lookup(session.realm, clientId, (what, fn) =>
    session.read(what, fn),
  );
  return listed ?? (await findClient(session, clientId));
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
  expectNew: boolean,
): Promise<{ id: string; actual: ClientRepresentation | undefined; createdWithSecret?: string }> {
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
  const actual = expectNew ? undefined : await findSyncedClient(session, clientId);
  if (!actual?.id) {
    // A confidential client is created with its secret, so nothing has to read it back.
    const secret = settings.secret ?? (settings.publicClient === true ? undefined : newClientSecret());
    const what = `create client "${clientId}" in realm "${realm}"`;
    const create = (kc: KeycloakAdminClient) =>
      kc.clients.create({ realm, ...settings, attributes, ...(secret !== undefined ? { secret } : {}) });
    const created = expectNew
      ? await session.createUnlessExists("client", what, create)
      : await session.create("client", what, create);
    // It exists although the CR never recorded it (created by hand, by an earlier CR, or by this
    // one just before a restart): the path of any existing client, lookup and ownership check first.
    if (!created) return syncClientSettings(session, desired, owner, adopt, false);
    return {
      id: created.id,
      actual: undefined,
      ...(secret !== undefined ? { createdWithSecret: secret } : {}),
    };
  }
  const id = actual.id;
  checkOwnership(describeClient(session.conn, realm, clientId), actual.attributes, owner, adopt);
  const want: Record<string, unknown> = { ...settings, attributes };
  const changed = changedFields(want, actual as Record<string, unknown>, clientSkip);
  if (changed.length > 0) {
    // A PUT that leaves frontchannelLogout out lets Keycloak set it to true (an adopted client made
    // with false turned true): the update carries the live value when the spec leaves it alone.
    const update: Record<string, unknown> = { clientId };
    if (typeof actual.frontchannelLogout === "boolean") update.frontchannelLogout = actual.frontchannelLogout;
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
      undefined,
      fieldValues(changed, want, actual as Record<string, unknown>),
    );
  }
  if (settings.secret !== undefined && !actual.publicClient) {
    const current =
      secretIn(actual) ??
      (
        await session.read(`read secret of client "${clientId}" in realm "${realm}"`, (kc) =>
          kc.clients.getClientSecret({ realm, id }),
        )
      ).value;
    if (current !== settings.secret) {
      await session.write(
        "PUT",
        "secret",
        `set secret of client "${clientId}" in realm "${realm}"`,
        (kc) => kc.clients.update({ realm, id }, { clientId, secret: settings.secret }),
        undefined,
        [{ field: "secret", secret: true }],
      );
    }
  }
  return { id, actual };
}

/** A Keycloak client: its id (the uuid the admin API addresses it by) and its clientId. */
export interface ClientRef {
  id: string;
  clientId: string;
}

async function syncClientRoles(
  session: SyncSession,
  client: ClientRef,
  desired: RoleRepresentation[],
  items: ReturnType<typeof markedItems>,
): Promise<void> {
  const realm = session.realm;
  const { id, clientId } = client;
  const roles: Collection<RoleRepresentation, RoleRepresentation> = {
    describe: (name) => `role "${name}" of client "${clientId}"`,
    field: (name) => `role:${name}`,
    nameOf: (role) => role.name ?? "",
    list: async () =>
      indexByName(
        await session.read(`list roles of client "${clientId}" in realm "${realm}"`, (kc) =>
          // The admin client passes extra GET payload keys as query parameters.
          kc.clients.listRoles({ realm, id, briefRepresentation: false } as { realm: string; id: string }),
        ),
      ),
    // A role this operator did not create is changed only in a client this CR adopted.
    checkExisting: (name, actual) => items.check(`Role "${name}" of client "${clientId}"`, actual),
    create: (role) => (kc) => kc.clients.createRole({ realm, id, ...items.rep(role) }),
    update: (role, actual) => {
      const rep = items.update(role, actual);
      return rep && ((kc) => kc.clients.updateRole({ realm, id, roleName: rep.name }, rep));
    },
    remove: (roleName, actual) =>
      items.ours(actual) ? (kc) => kc.clients.delRole({ realm, id, roleName }) : undefined,
  };
  const { before } = await syncCollection(session, roles, desired);
  session.forgetClientRoles(id);
  await syncRoleComposites(session, desired, before, {
    ref: (name) => session.clientRoleRef(clientId, name, `Role "${name}" of client "${clientId}"`),
    describe: (name) => `role "${name}" of client "${clientId}" in realm "${realm}"`,
  });
}

/** Exactly the listed mappers, by name; `existing` is the client as read by the settings sync. */
function protocolMappers(
  session: SyncSession,
  { id, clientId }: ClientRef,
  existing: ProtocolMapperRepresentation[],
): Collection<ProtocolMapperRepresentation, ProtocolMapperRepresentation> {
  const realm = session.realm;
  return protocolMapperCollection({
    describe: `client "${clientId}"`,
    fieldPrefix: "",
    protocol: "openid-connect",
    existing,
    add: (rep) => (kc) => kc.clients.addProtocolMapper({ realm, id }, rep),
    update: (mapperId, rep) => (kc) => kc.clients.updateProtocolMapper({ realm, id, mapperId }, rep),
    remove: (mapperId) => (kc) => kc.clients.delProtocolMapper({ realm, id, mapperId }),
  });
}

/** Exactly the listed default (or optional) client scopes, by name: realm scopes linked to the client. */
function clientScopes(
  session: SyncSession,
  { id, clientId }: ClientRef,
  kind: "default" | "optional",
): Collection<string, ClientScopeRepresentation> {
  const realm = session.realm;
  let realmScopes: Promise<Map<string, ClientScopeRepresentation>> | undefined;
  const scopeId = async (name: string) => {
    realmScopes ??= session
      .read(`list client scopes of realm "${realm}"`, (kc) => kc.clientScopes.find({ realm }))
      .then((all) => indexByName(all));
    const clientScopeId = (await realmScopes).get(name)?.id;
    if (!clientScopeId) {
      throw new MissingReferenceError(
        `Client "${clientId}" lists ${kind} client scope "${name}", which does not exist in realm "${realm}"; ` +
          "create the client scope or remove it from the list",
      );
    }
    return clientScopeId;
  };
  return {
    kind: "linked",
    describe: (name) => `${kind} client scope "${name}" of client "${clientId}"`,
    field: () => `${kind}ClientScopes`,
    nameOf: (name) => name,
    list: async () =>
      indexByName(
        await session.read(`list ${kind} client scopes of client "${clientId}"`, (kc) =>
          kind === "default"
            ? kc.clients.listDefaultClientScopes({ realm, id })
            : kc.clients.listOptionalClientScopes({ realm, id }),
        ),
      ),
    create: async (name) => {
      const clientScopeId = await scopeId(name);
      return (kc) =>
        kind === "default"
          ? kc.clients.addDefaultClientScope({ realm, id, clientScopeId })
          : kc.clients.addOptionalClientScope({ realm, id, clientScopeId });
    },
    remove: (_, actual) => {
      const clientScopeId = actual.id ?? "";
      return (kc) =>
        kind === "default"
          ? kc.clients.delDefaultClientScope({ realm, id, clientScopeId })
          : kc.clients.delOptionalClientScope({ realm, id, clientScopeId });
    },
  };
}

/**
 * The roles of the client's service account: add what is listed; remove only what this operator
 * granted before (recorded in a client attribute after the grants change) and is no longer listed.
 */
async function syncServiceAccountRoles(
  session: SyncSession,
  { id, clientId }: ClientRef,
  desired: RoleSet,
  clientAttributes: Record<string, unknown>,
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const userId = await serviceAccountUserId(
    session,
    { id, clientId },
    "lists service account roles",
    "roles",
  );
  const wanted = roleKeysOf(desired);
  const recorded = parseRecordedKeys(attributeValue(clientAttributes, serviceAccountRolesAttribute));
  await reconcileRoleRefs(session, {
    ...roleMappingsOf(session, { kind: "users", id: userId }),
    field: "serviceAccountRoles",
    describe: `roles of the service account of client "${clientId}"`,
    usedBy: `Client "${clientId}" (service account roles)`,
    wanted,
    held: async () =>
      heldOfMappings(
        await session.read(`read service account roles of client "${clientId}"`, (kc) =>
          kc.users.listRoleMappings({ realm, id: userId }),
        ),
      ),
    removable: (key) => recorded.includes(key),
  });
  await recordOnClient(session, { clientId, id, attributes: clientAttributes }, owner, {
    attribute: serviceAccountRolesAttribute,
    field: "serviceAccountRoles",
    what: "service account roles",
    keys: wanted,
  });
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

/** The current secret of a confidential client, found by clientId. Never log the result. */
export async function getClientSecret(
  conn: KeycloakConnection,
  realmName: string,
  clientId: string,
  namespace?: string,
): Promise<string> {
  const session = new SyncSession(conn, realmName, namespace ?? "");
  const { id } = await requireClient(session, clientId);
  return secretOf(session, { id, clientId });
}

/**
 * The current secret of a confidential client whose id is known (from its sync): one request, no
 * lookup. Never log the result.
 */
export async function getClientSecretById(
  conn: KeycloakConnection,
  realmName: string,
  client: ClientRef,
  namespace?: string,
): Promise<string> {
  return secretOf(new SyncSession(conn, realmName, namespace ?? ""), client);
}

async function secretOf(session: SyncSession, { id, clientId }: ClientRef): Promise<string> {
  const realm = session.realm;
  const credential = await session.read(`read secret of client "${clientId}" in realm "${realm}"`, (kc) =>
    kc.clients.getClientSecret({ realm, id }),
  );
  if (typeof credential.value !== "string" || credential.value === "") {
    throw new MissingReferenceError(
      `${describeClient(session.conn, realm, clientId)} has no secret; only confidential clients (publicClient: false) have one`,
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
