// Diff-based user sync, same rules as the realm and client syncs: read the user, compare only the
// fields the CR manages, write only what differs, in a fixed order (user fields, group memberships,
// role mappings, identity-provider links). A user is only ever changed by the CR that created it (an
// ownership marker in its attributes) or one that adopted it; Keycloak's own users — everything in
// the master realm and the service-account users of clients — are never created, adopted or
// changed. The initial password goes into the create request itself, so a user never exists
// without it, and it is never sent again: a later change of the Secret does not reset a password
// the user may have changed since.
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import type FederatedIdentityRepresentation from "@keycloak/keycloak-admin-client/lib/defs/federatedIdentityRepresentation.js";
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type UserRepresentation from "@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import type { KeycloakConnection } from "./connection.js";
import { isSubsetEqual } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, checkOwnership, isOwnedBy, ownerAttributes, type Owner } from "./ownership.js";
import type { SyncOptions, SyncResult } from "./realmSync.js";
import {
  heldOfMappings,
  parseRecordedKeys,
  reconcileRoleRefs,
  roleKeysOf,
  roleMappingsOf,
} from "./roleReferences.js";
import { SyncSession } from "./session.js";

export type { UserRepresentation };

/** The user fields a KeycloakUser manages; `username` is the key. Attributes are merged, not replaced. */
export type ManagedUserFields = Pick<
  UserRepresentation,
  "email" | "emailVerified" | "firstName" | "lastName" | "enabled" | "requiredActions"
> & { username: string; attributes?: Record<string, string[]> };

export interface DesiredUser {
  user: ManagedUserFields;
  /** Exactly these group memberships (by path) when present. */
  groups?: string[];
  /**
   * Roles mapped to the user directly. Roles mapped by someone else are left alone; roles this
   * operator mapped and that are no longer listed are removed.
   */
  roles?: { realm?: string[]; client?: Record<string, string[]> };
  /** Exactly these identity-provider links (by provider alias) when present. */
  federatedIdentities?: { identityProvider: string; userId: string; userName: string }[];
  /** Sent only in the request that creates the user; never compared, never sent again. */
  initialPassword?: { value: string; temporary: boolean };
}

export interface UserSyncResult extends SyncResult {
  userId: string;
  /** The user carries the marker saying the operator created it with the initial password. */
  passwordInitialized: boolean;
}

/** User attribute listing the role keys the operator mapped to the user (sorted JSON). */
export const userRolesAttribute = "kpo.dev/user-roles";
/** User attribute set when the operator created the user with its initial password (never the password). */
export const passwordInitializedAttribute = "kpo.dev/password-initialized";

/** Keycloak makes a `service-account-<clientId>` user for every client with a service account. */
export const serviceAccountUserPrefix = "service-account-";

const managedFields = ["email", "emailVerified", "firstName", "lastName", "enabled"] as const;

function describeUser(conn: KeycloakConnection, realm: string, username: string): string {
  return `User "${username}" in realm "${realm}" on Keycloak instance ${conn.instance}`;
}

/** Is this one of Keycloak's own users, which a KeycloakUser never creates, adopts or changes? */
export function isReservedUser(username: string, realm: string): boolean {
  return realm.toLowerCase() === "master" || username.toLowerCase().startsWith(serviceAccountUserPrefix);
}

/** Owner marker as user attributes (Keycloak keeps user attributes as string lists). */
function ownerMarker(owner: Owner): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ownerAttributes(owner)).map(([k, v]) => [k, [v]]));
}

/** The attributes a user has, as string lists. */
function attributesOf(user: UserRepresentation | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(user?.attributes ?? {}))
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  return out;
}

/**
 * A PUT of a user replaces its attributes and required actions with what is sent, so an update
 * sends the user's current managed fields with the changes over them, never a partial map.
 */
function userUpdate(actual: UserRepresentation, changes: Partial<ManagedUserFields>): UserRepresentation {
  const rep: UserRepresentation = { username: actual.username ?? "" };
  for (const f of managedFields) if (actual[f] !== undefined) Object.assign(rep, { [f]: actual[f] });
  rep.attributes = attributesOf(actual);
  rep.requiredActions = actual.requiredActions ?? [];
  return { ...rep, ...changes };
}

export async function syncUser(
  conn: KeycloakConnection,
  realmName: string,
  desired: DesiredUser,
  owner: Owner,
  options: SyncOptions = {},
): Promise<UserSyncResult> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const userOwner: Owner = { kind: "KeycloakUser", ...owner };
  const username = desired.user.username;
  if (isReservedUser(username, realmName)) {
    // The policies refuse these first; this is the sync's own guarantee.
    throw new OwnershipError(
      `${describeUser(conn, realmName, username)} is one of Keycloak's own users (the master realm, or a client's service account) and is never changed by a KeycloakUser; choose another username or realm`,
    );
  }
  await keepUnmanagedAttributes(session);
  const settled = await syncUserFields(session, desired, userOwner, options.adopt ?? false);
  const { id, actual } = settled;
  if (desired.groups) await syncCollection(session, groupMemberships(session, id, username), desired.groups);
  if (desired.roles) await syncUserRoles(session, { id, username }, desired.roles, attributesOf(actual));
  if (desired.federatedIdentities) {
    await syncCollection(session, identityLinks(session, id, username), desired.federatedIdentities);
  }
  return {
    created: actual === undefined,
    writes: session.writes,
    changedFields: session.changed,
    userId: id,
    passwordInitialized: settled.passwordInitialized,
  };
}

/**
 * Keycloak's user profile drops every attribute it does not declare unless the realm keeps
 * "unmanaged" attributes; the owner marker is one, so without them the operator could not tell its
 * users from anyone else's. A realm that keeps none (the default) is switched to ADMIN_EDIT: the
 * attributes are kept and only administrators see or change them — users cannot forge or strip the
 * marker, and nothing in tokens or the account console changes. A realm whose owners made them
 * read-only (ADMIN_VIEW) is left alone and the sync stops with what to change.
 */
async function keepUnmanagedAttributes(session: SyncSession): Promise<void> {
  const realm = session.realm;
  const profile = await session.read(`read the user profile of realm "${realm}"`, (kc) =>
    kc.users.getProfile({ realm }),
  );
  // Compared as strings: the admin client's enum is declared only, there is no value to import.
  const policy = String(profile.unmanagedAttributePolicy ?? "DISABLED");
  if (policy === "ENABLED" || policy === "ADMIN_EDIT") return;
  if (policy === "ADMIN_VIEW") {
    throw new MissingReferenceError(
      `Realm "${realm}" keeps user attributes it does not declare read-only (user profile: unmanaged attributes ADMIN_VIEW), ` +
        "so the operator cannot mark the users it manages; ask the realm's owners to allow administrators to edit them (ADMIN_EDIT)",
    );
  }
  await session.write(
    "PUT",
    "userProfile",
    `keep unmanaged user attributes in realm "${realm}" (ADMIN_EDIT)`,
    (kc) =>
      kc.users.updateProfile({ realm, ...profile, unmanagedAttributePolicy: "ADMIN_EDIT" } as Parameters<
        typeof kc.users.updateProfile
      >[0]),
  );
}

async function findUser(session: SyncSession, username: string): Promise<UserRepresentation | undefined> {
  const found = await session.read(`find user "${username}" in realm "${session.realm}"`, (kc) =>
    kc.users.find({ realm: session.realm, username, exact: true }),
  );
  return found.find((u) => u.username === username);
}

async function syncUserFields(
  session: SyncSession,
  desired: DesiredUser,
  owner: Owner,
  adopt: boolean,
): Promise<{ id: string; actual: UserRepresentation | undefined; passwordInitialized: boolean }> {
  const realm = session.realm;
  const { username, attributes: wantedAttributes, ...fields } = desired.user;
  const description = describeUser(session.conn, realm, username);
  const attributes = { ...wantedAttributes, ...ownerMarker(owner) };
  const actual = await findUser(session, username);
  if (!actual?.id) {
    const password = desired.initialPassword;
    const rep: UserRepresentation = {
      username,
      ...fields,
      attributes: password ? { ...attributes, [passwordInitializedAttribute]: ["true"] } : attributes,
      ...(password
        ? { credentials: [{ type: "password", value: password.value, temporary: password.temporary }] }
        : {}),
    };
    const created = await session.create("user", `create user "${username}" in realm "${realm}"`, (kc) =>
      kc.users.create({ realm, ...rep }),
    );
    return { id: created.id, actual: undefined, passwordInitialized: password !== undefined };
  }
  const id = actual.id;
  if (actual.serviceAccountClientId) {
    throw new OwnershipError(
      `${description} is the service account of client "${actual.serviceAccountClientId}" and is never changed by a KeycloakUser; grant its roles in that client's KeycloakClient (spec.serviceAccount)`,
    );
  }
  checkOwnership(description, actual.attributes, owner, adopt);
  const changed: string[] = [];
  const changes: Partial<ManagedUserFields> = {};
  for (const f of managedFields) {
    if (fields[f] !== undefined && fields[f] !== actual[f]) {
      changed.push(f);
      Object.assign(changes, { [f]: fields[f] });
    }
  }
  const have = attributesOf(actual);
  if (!isSubsetEqual(attributes, have)) {
    changed.push("attributes");
    changes.attributes = { ...have, ...attributes };
  }
  if (
    fields.requiredActions !== undefined &&
    !sameSet(fields.requiredActions, actual.requiredActions ?? [])
  ) {
    changed.push("requiredActions");
    changes.requiredActions = fields.requiredActions;
  }
  if (changed.length > 0) {
    session.changed.push(...changed.filter((f) => !session.changed.includes(f)));
    await session.write(
      "PUT",
      changed[0] ?? "user",
      `update user "${username}" in realm "${realm}" (${changed.join(", ")})`,
      (kc) => kc.users.update({ realm, id }, userUpdate(actual, changes)),
      undefined,
      changed.map((field) => ({
        field,
        old: field === "attributes" ? have : actual[field as keyof UserRepresentation],
        new: changes[field as keyof ManagedUserFields],
      })),
    );
  }
  return {
    id,
    actual,
    passwordInitialized: attributeValue(actual.attributes, passwordInitializedAttribute) === "true",
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

// Keycloak pages group listings (children default to 10 per page).
const groupPage = 10_000;

/** Finds groups by path, one level at a time, each level listed once per sync. */
class GroupPaths {
  readonly #session: SyncSession;
  readonly #levels = new Map<string, Promise<GroupRepresentation[]>>();

  constructor(session: SyncSession) {
    this.#session = session;
  }

  async id(path: string, usedBy: string): Promise<string> {
    const names = path.split("/").slice(1);
    let parentId: string | undefined;
    let at = "";
    for (const name of names) {
      at = `${at}/${name}`;
      const group = (await this.#children(parentId, at)).find((g) => g.name === name);
      if (!group?.id) {
        throw new MissingReferenceError(
          `${usedBy} lists group "${path}", which does not exist in realm "${this.#session.realm}"; ` +
            "add it to the realm's spec.groups or remove it from spec.groups",
        );
      }
      parentId = group.id;
    }
    return parentId ?? "";
  }

  #children(parentId: string | undefined, path: string): Promise<GroupRepresentation[]> {
    const key = parentId ?? "";
    let level = this.#levels.get(key);
    if (!level) {
      const session = this.#session;
      const realm = session.realm;
      const page = { realm, first: 0, max: groupPage };
      level = session.read(
        parentId === undefined ? `list top-level groups of realm "${realm}"` : `list subgroups of "${path}"`,
        (kc) =>
          parentId === undefined
            ? kc.groups.find({ ...page, briefRepresentation: true })
            : kc.groups.listSubGroups({ ...page, parentId, briefRepresentation: true }),
      );
      this.#levels.set(key, level);
    }
    return level;
  }
}

/** The user's memberships: realm groups linked to the user (PUT) and unlinked (DELETE), by path. */
function groupMemberships(
  session: SyncSession,
  id: string,
  username: string,
): Collection<string, GroupRepresentation> {
  const realm = session.realm;
  const paths = new GroupPaths(session);
  return {
    kind: "linked",
    describe: (path) => `membership of user "${username}" in group "${path}"`,
    field: () => "groups",
    nameOf: (path) => path,
    list: async () => {
      const groups = await session.read(`list groups of user "${username}" in realm "${realm}"`, (kc) =>
        kc.users.listGroups({ realm, id, first: 0, max: groupPage, briefRepresentation: true }),
      );
      return new Map(groups.filter((g) => g.id && g.path).map((g) => [g.path ?? "", g]));
    },
    create: async (path) => {
      const groupId = await paths.id(path, `User "${username}"`);
      return (kc) => kc.users.addToGroup({ realm, id, groupId });
    },
    remove: (_, actual) => {
      const groupId = actual.id ?? "";
      return (kc) => kc.users.delFromGroup({ realm, id, groupId });
    },
  };
}

/**
 * The user's direct role mappings: add what is listed; remove only what this operator mapped
 * before (recorded in a user attribute) and is no longer listed. The record is widened before the
 * mappings change and narrowed after, so an interrupted sync still knows what to remove next time.
 */
async function syncUserRoles(
  session: SyncSession,
  user: { id: string; username: string },
  desired: { realm?: string[]; client?: Record<string, string[]> },
  attributes: Record<string, string[]>,
): Promise<void> {
  const realm = session.realm;
  const { id, username } = user;
  const wanted = [...new Set(roleKeysOf(desired))].sort();
  const recorded = parseRecordedKeys(attributeValue(attributes, userRolesAttribute));
  const record = async (keys: string[]) => {
    const value = JSON.stringify(keys);
    // Re-read: the field sync may just have changed the user's attributes.
    const fresh = await findUser(session, username);
    if (!fresh || attributeValue(fresh.attributes, userRolesAttribute) === value) return;
    const update = userUpdate(fresh, {
      attributes: { ...attributesOf(fresh), [userRolesAttribute]: [value] },
    });
    await session.write("PUT", "roles", `record the roles of user "${username}"`, (kc) =>
      kc.users.update({ realm, id }, update),
    );
  };
  const changed = await reconcileRoleRefs(session, {
    ...roleMappingsOf(session, { kind: "users", id }),
    field: "roles",
    describe: `roles of user "${username}" in realm "${realm}"`,
    usedBy: `User "${username}"`,
    wanted,
    held: async () =>
      heldOfMappings(
        await session.read(`read role mappings of user "${username}" in realm "${realm}"`, (kc) =>
          kc.users.listRoleMappings({ realm, id }),
        ),
      ),
    removable: (key) => recorded.includes(key),
    beforeChange: () => record([...new Set([...recorded, ...wanted])].sort()),
  });
  if (changed || JSON.stringify(recorded) !== JSON.stringify(wanted)) await record(wanted);
}

type IdentityLink = NonNullable<DesiredUser["federatedIdentities"]>[number];

/** Exactly the listed identity-provider links, by provider alias. */
function identityLinks(
  session: SyncSession,
  id: string,
  username: string,
): Collection<IdentityLink, FederatedIdentityRepresentation> {
  const realm = session.realm;
  const add = (link: IdentityLink) => (kc: KeycloakAdminClient) =>
    kc.users.addToFederatedIdentity({
      realm,
      id,
      federatedIdentityId: link.identityProvider,
      federatedIdentity: link,
    });
  const del = (federatedIdentityId: string) => (kc: KeycloakAdminClient) =>
    kc.users.delFromFederatedIdentity({ realm, id, federatedIdentityId });
  return {
    describe: (alias) => `link of user "${username}" to identity provider "${alias}"`,
    field: (alias) => `federatedIdentity:${alias}`,
    nameOf: (link) => link.identityProvider,
    list: async () => {
      const links = await session.read(`list identity links of user "${username}"`, (kc) =>
        kc.users.listFederatedIdentities({ realm, id }),
      );
      return new Map(links.filter((l) => l.identityProvider).map((l) => [l.identityProvider ?? "", l]));
    },
    create: (link) => add(link),
    // Keycloak has no update for a link: it is replaced (removed, then added again).
    update: (link, actual) =>
      link.userId === actual.userId && link.userName === actual.userName
        ? undefined
        : async (kc) => {
            await del(link.identityProvider)(kc);
            await add(link)(kc);
          },
    remove: (alias) => del(alias),
  };
}

/** Deletes a user this CR owns. Returns false when it did not exist or is not this CR's. */
export async function deleteUser(
  conn: KeycloakConnection,
  realmName: string,
  username: string,
  owner: Owner,
): Promise<boolean> {
  if (isReservedUser(username, realmName)) return false;
  const session = new SyncSession(conn, realmName, owner.namespace);
  let user: UserRepresentation | undefined;
  try {
    user = await findUser(session, username);
  } catch (err) {
    // The realm itself is gone: so is the user.
    if (err instanceof KeycloakApiError && err.status === 404) return false;
    throw err;
  }
  // Only what this CR created (or adopted) is deleted; a user it never owned is left alone.
  if (!user?.id || user.serviceAccountClientId || !isOwnedBy(user.attributes, owner)) return false;
  const id = user.id;
  try {
    await session.write("DELETE", "user", `delete user "${username}" from realm "${realmName}"`, (kc) =>
      kc.users.del({ realm: realmName, id }),
    );
  } catch (err) {
    if (err instanceof KeycloakApiError && err.status === 404) return false;
    throw err;
  }
  return true;
}
