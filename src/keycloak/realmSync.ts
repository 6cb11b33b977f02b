// Diff-based realm sync: read the realm, compare only the fields the CR manages, write only what
// differs, in a fixed order (realm settings, roles, composites, groups, group role mappings). A
// resync of an unchanged world makes no write at all, which is what lets the operator resync
// often without loading Keycloak or flooding its admin events.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import { syncClientScopes, type DesiredClientScopes } from "./clientScopes.js";
import type { DesiredAuthentication } from "../resources/authenticationFlowRepresentation.js";
import { prepareAuthentication } from "./authenticationFlows.js";
import { indexByName, markedItems, syncCollection, type Collection } from "./collection.js";
import type { KeycloakConnection } from "./connection.js";
import { checkDefaultGroups, syncDefaultGroups } from "./defaultGroups.js";
import { changedFields, fieldValues, isSubsetEqual } from "./diff.js";
import type { FieldChange } from "./plan.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { groupPaths } from "./groupPaths.js";
import { prepareIdentityProviders, type DesiredIdentityProviders } from "./identityProviders.js";
import { syncEventsConfig, type EventsConfig } from "./events.js";
import { syncLocalizationTexts, type LocalizationTexts } from "./localization.js";
import { syncOrganizations, type DesiredOrganization } from "./organizations.js";
import { syncUserProfile, type DesiredUserProfile } from "./userProfile.js";
import { attributeValue, checkOwnership, isOwnedBy, ownerAttributes, type Owner } from "./ownership.js";
import {
  compositesOf,
  heldOfMappings,
  parseRecordedKeys,
  parseRoleKey,
  reconcileRoleRefs,
  roleKeysOf,
  roleMappingsOf,
  syncRoleComposites,
} from "./roleReferences.js";
import { withWholeOtpPolicy } from "../resources/realmSettingGroups.js";
import { writeOnlySecretHash } from "./secretHash.js";
import { SyncSession, realmLifecycleTimeoutMs } from "./session.js";
import { syncUserFederation, type DesiredLdapProvider } from "./userFederation.js";

export type { GroupRepresentation, RealmRepresentation, RoleRepresentation };

/** Keycloak's SMTP settings: a string map (`host`, `port`, `from`, `auth`, `user`, `password`, …). */
export type SmtpServer = Record<string, string>;

export interface DesiredRealm {
  /** Managed realm settings; `realm` (the name) is required. Attributes are merged, not replaced. */
  realm: RealmRepresentation & { realm: string };
  /**
   * Realm roles. `composites` (realm names and client roles by clientId) is managed exactly when
   * present. Roles the operator created and that are no longer listed are deleted; other roles are
   * left alone. Undefined: roles are not managed.
   */
  roles?: RoleRepresentation[];
  /**
   * Groups by name, nested through `subGroups`; `attributes`, `realmRoles` and `clientRoles`
   * (clientId → role names) are managed when present. Groups the operator created and that are no
   * longer listed are deleted. Undefined: groups are not managed.
   */
  groups?: GroupRepresentation[];
  /** With the real password; compared through a hash stored in a realm attribute. */
  smtpServer?: SmtpServer;
  /**
   * Roles added to the realm's default role (default-roles-<realm>). Its built-in composites are
   * left alone; roles this operator added and that are no longer listed are removed. Undefined:
   * not managed.
   */
  defaultRoles?: { realm?: string[]; client?: Record<string, string[]> };
  /** The realm's client scopes and its default/optional scope links (src/keycloak/clientScopes.ts). */
  clientScopes?: DesiredClientScopes;
  /** LDAP user federation providers and their mappers (src/keycloak/userFederation.ts). Undefined: not managed. */
  ldapProviders?: DesiredLdapProvider[];
  /** Identity providers and their mappers (identityProviders.ts); undefined: neither is managed. */
  identityProviders?: DesiredIdentityProviders;
  /** The events configuration fields to manage (events.ts). Undefined: not managed. */
  events?: EventsConfig;
  /** The realm's own texts by locale and key (localization.ts). Undefined: not managed. */
  localizationTexts?: LocalizationTexts;
  /** Paths of groups of `groups` every new user joins (defaultGroups.ts). Undefined: not managed. */
  defaultGroups?: string[];
  /** User profile attribute and group definitions, merged by name (userProfile.ts). */
  userProfile?: DesiredUserProfile;
  /** Organizations by name, with domains and linked identity providers (organizations.ts). */
  organizations?: DesiredOrganization[];
  /** Authentication flows, flow bindings and required actions (src/keycloak/authenticationFlows.ts). */
  authentication?: DesiredAuthentication;
}

export interface SyncOptions {
  /** Take over an existing object that has no owner. Never applies to one owned by another CR. */
  adopt?: boolean;
}

export interface SyncResult {
  created: boolean;
  /** Write requests made by this sync. */
  writes: number;
  /** What changed: `realm`, `displayName`, `attributes.x`, `smtpServer`, `role:x`, `group:/a/b`, … */
  changedFields: string[];
}

/** Realm attribute holding a keyed hash of the SMTP password (Keycloak never returns the password). */
export const smtpPasswordHashAttribute = "kpo.dev/smtp-password-hash";

/**
 * Keyed with the owner's uid so equal passwords of different realms do not hash alike; the value
 * only lets the operator see whether the password changed.
 */
export function smtpPasswordHash(password: string, owner: Owner): string {
  return writeOnlySecretHash("smtp", password, owner);
}

const realmSkip = new Set(["realm", "smtpServer", "id"]);

/**
 * Maps Keycloak replaces as a whole on update; sent merged with what is there. A realm created with
 * a partial one would lack Keycloak's defaults for the rest, so they are set after the create.
 */
const mergedMaps = new Set(["browserSecurityHeaders"]);

export async function syncRealm(
  conn: KeycloakConnection,
  desired: DesiredRealm,
  owner: Owner,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const realmName = desired.realm.realm;
  const session = new SyncSession(conn, realmName, owner.namespace);
  const ownerWithKind: Owner = { kind: "KeycloakRealm", ...owner };
  const adopt = options.adopt ?? false;
  // Checked before the first write: a mapper naming a missing identity provider writes nothing.
  const identityProviders = await prepareIdentityProviders(
    session,
    desired.identityProviders,
    new Set(groupPaths(desired.groups)),
    ownerWithKind,
    adopt,
  );
  // Refused before the first write: a default group must be one the spec defines.
  if (desired.defaultGroups) checkDefaultGroups(realmName, desired.defaultGroups, desired.groups);
  // Checked before the first write: a flow or binding that cannot be made leaves the realm untouched.
  const authentication =
    desired.authentication &&
    (await prepareAuthentication(session, desired.authentication, ownerWithKind, adopt));
  const created = await syncRealmSettings(session, desired, ownerWithKind, adopt);
  if (desired.events) await syncEventsConfig(session, desired.events);
  if (desired.localizationTexts) await syncLocalizationTexts(session, desired.localizationTexts);
  if (desired.userProfile) await syncUserProfile(session, desired.userProfile, ownerWithKind);
  const items = markedItems(ownerWithKind, adopt);
  if (desired.roles) await syncRoles(session, desired.roles, items);
  const placed: PlacedGroup[] = [];
  if (desired.groups) {
    await syncGroupLevel(session, { path: "", knownEmpty: false }, desired.groups, items, placed);
    await syncGroupRoleMappings(session, placed);
  }
  if (desired.defaultGroups) await syncDefaultGroups(session, desired.defaultGroups, placed, ownerWithKind);
  if (desired.defaultRoles) await syncDefaultRoles(session, desired.defaultRoles);
  await authentication?.apply();
  if (desired.clientScopes) await syncClientScopes(session, desired.clientScopes, ownerWithKind, adopt);
  if (desired.ldapProviders) await syncUserFederation(session, desired.ldapProviders, ownerWithKind, adopt);
  await identityProviders.sync();
  // After the identity providers: an organization may link one this sync creates.
  if (desired.organizations) await syncOrganizations(session, desired.organizations, ownerWithKind, adopt);
  return { created, writes: session.writes, changedFields: session.changed };
}

/** Realm attribute listing the role keys this operator added to the default role (sorted JSON). */
export const defaultRolesAttribute = "kpo.dev/default-roles";

/**
 * The default role's composites: add what is listed, remove what this operator added before and
 * is no longer listed. The record of what it added is widened before the composites change and
 * narrowed after, so a sync interrupted in between still knows what to remove next time.
 */
async function syncDefaultRoles(
  session: SyncSession,
  desired: { realm?: string[]; client?: Record<string, string[]> },
): Promise<void> {
  const realm = session.realm;
  const read = () => session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const rep = await read();
  const roleId = rep?.defaultRole?.id;
  if (!rep || !roleId) {
    throw new MissingReferenceError(`Realm "${realm}" has no default role to add spec.defaultRoles to`);
  }
  const wanted = [...new Set(roleKeysOf(desired))].sort();
  const recorded = parseRecordedKeys(attributeValue(rep.attributes, defaultRolesAttribute));
  const record = async (keys: string[]) => {
    const value = JSON.stringify(keys);
    const fresh = await read();
    if (attributeValue(fresh?.attributes, defaultRolesAttribute) === value) return;
    await session.write("PUT", "defaultRoles", `record the default roles of realm "${realm}"`, (kc) =>
      kc.realms.update({ realm }, { attributes: { ...fresh?.attributes, [defaultRolesAttribute]: value } }),
    );
  };
  const defaultRole = {
    id: roleId,
    composite: true,
    field: "defaultRoles",
    describe: `the default role of realm "${realm}"`,
    usedBy: "spec.defaultRoles",
  };
  const changed = await reconcileRoleRefs(session, {
    ...compositesOf(session, defaultRole, wanted),
    removable: (key) => recorded.includes(key),
    beforeChange: () => record([...new Set([...recorded, ...wanted])].sort()),
  });
  if (changed || JSON.stringify(recorded) !== JSON.stringify(wanted)) await record(wanted);
}

function desiredAttributes(desired: DesiredRealm, owner: Owner): Record<string, string> {
  const attributes: Record<string, string> = {
    ...(desired.realm.attributes as Record<string, string> | undefined),
  };
  Object.assign(attributes, ownerAttributes(owner));
  const password = desired.smtpServer?.password;
  if (password !== undefined && password !== "")
    attributes[smtpPasswordHashAttribute] = smtpPasswordHash(password, owner);
  return attributes;
}

async function syncRealmSettings(
  session: SyncSession,
  desired: DesiredRealm,
  owner: Owner,
  adopt: boolean,
): Promise<boolean> {
  const name = session.realm;
  const description = `Realm "${name}" on Keycloak instance ${session.conn.instance}`;
  const readRealm = () => session.read(`read realm "${name}"`, (kc) => kc.realms.findOne({ realm: name }));
  let actual = await readRealm();
  const attributes = desiredAttributes(desired, owner);

  if (!actual) {
    const rep: RealmRepresentation = withWholeOtpPolicy({ ...desired.realm, attributes });
    for (const field of mergedMaps) delete (rep as Record<string, unknown>)[field];
    if (desired.smtpServer) rep.smtpServer = desired.smtpServer;
    await session.create(
      "realm",
      `create realm "${name}"`,
      (kc) => kc.realms.create(rep),
      realmLifecycleTimeoutMs,
    );
    const merged = [...mergedMaps].some(
      (f) => (desired.realm as unknown as Record<string, unknown>)[f] !== undefined,
    );
    if (!merged) return true;
    actual = await readRealm();
    if (!actual) return true;
    await updateRealmSettings(session, desired, actual, attributes);
    return true;
  }

  checkOwnership(description, actual.attributes, owner, adopt);
  await updateRealmSettings(session, desired, actual, attributes);
  return false;
}

async function updateRealmSettings(
  session: SyncSession,
  desired: DesiredRealm,
  actual: RealmRepresentation,
  attributes: Record<string, string>,
): Promise<void> {
  const name = session.realm;
  const want: Record<string, unknown> = { ...desired.realm, attributes };
  // The SMTP password hash is compared as part of smtpServer, not as an attribute of its own.
  const changed = changedFields(want, actual as Record<string, unknown>, realmSkip).filter(
    (f) => f !== `attributes.${smtpPasswordHashAttribute}`,
  );
  const smtpChanged =
    desired.smtpServer !== undefined && !smtpMatches(desired.smtpServer, actual, attributes);
  if (changed.length === 0 && !smtpChanged) return;

  // Only the differing fields are sent. Keycloak replaces the whole attribute map when
  // `attributes` is present, so it is sent merged with what is there.
  const update: Record<string, unknown> = {};
  for (const field of changed) {
    if (field.startsWith("attributes.")) {
      update.attributes = { ...(actual.attributes as Record<string, unknown> | undefined), ...attributes };
    } else if (mergedMaps.has(field)) {
      update[field] = {
        ...((actual as Record<string, unknown>)[field] as object | undefined),
        ...(want[field] as object),
      };
    } else {
      update[field] = want[field];
    }
  }
  // A desired OTP field not in `update` equals the realm's: the realm completes the policy.
  Object.assign(update, withWholeOtpPolicy(update, actual));
  if (smtpChanged && desired.smtpServer) {
    update.smtpServer = desired.smtpServer;
    update.attributes = { ...(actual.attributes as Record<string, unknown> | undefined), ...attributes };
  }
  const fields = [...changed, ...(smtpChanged ? ["smtpServer"] : [])];
  session.changed.push(...fields.filter((f) => !session.changed.includes(f)));
  const changes: FieldChange[] = fieldValues(changed, want, actual as Record<string, unknown>);
  if (smtpChanged && desired.smtpServer) changes.push(...smtpChanges(desired.smtpServer, actual, attributes));
  await session.write(
    "PUT",
    fields[0] ?? "realm",
    `update realm "${name}" (${fields.join(", ")})`,
    (kc) => kc.realms.update({ realm: name }, update as RealmRepresentation),
    undefined,
    changes,
  );
}

/** The SMTP settings that differ, the password only as "changed" (Keycloak never returns it). */
function smtpChanges(
  desired: SmtpServer,
  actual: RealmRepresentation,
  attributes: Record<string, string>,
): FieldChange[] {
  const { password, ...rest } = desired;
  const have = (actual.smtpServer ?? {}) as Record<string, unknown>;
  const changes: FieldChange[] = Object.entries(rest)
    .filter(([key, value]) => !isSubsetEqual(value, have[key]))
    .map(([key, value]) => ({ field: `smtpServer.${key}`, old: have[key], new: value }));
  const hash = attributes[smtpPasswordHashAttribute];
  if (
    password !== undefined &&
    password !== "" &&
    attributeValue(actual.attributes, smtpPasswordHashAttribute) !== hash
  )
    changes.push({ field: "smtpServer.password", secret: true });
  return changes;
}

function smtpMatches(
  desired: SmtpServer,
  actual: RealmRepresentation,
  attributes: Record<string, string>,
): boolean {
  const { password, ...rest } = desired;
  if (!isSubsetEqual(rest, actual.smtpServer ?? {})) return false;
  if (password === undefined || password === "") return true;
  return (
    attributeValue(actual.attributes, smtpPasswordHashAttribute) === attributes[smtpPasswordHashAttribute]
  );
}

/**
 * Keycloak's own realm roles: never changed by a role definition, even in an adopted realm (the
 * policies refuse them first; this is the sync's own guarantee).
 */
export function isBuiltinRealmRole(name: string, realm: string): boolean {
  const lower = name.toLowerCase();
  if (lower.startsWith("default-roles-") || lower === "offline_access" || lower === "uma_authorization")
    return true;
  return realm === "master" && (name === "admin" || name === "create-realm");
}

type Items = ReturnType<typeof markedItems>;

async function syncRoles(session: SyncSession, desired: RoleRepresentation[], items: Items): Promise<void> {
  const realm = session.realm;
  const roles: Collection<RoleRepresentation, RoleRepresentation> = {
    describe: (name) => `role "${name}" in realm "${realm}"`,
    field: (name) => `role:${name}`,
    nameOf: (role) => role.name ?? "",
    list: () => session.realmRoles(),
    checkExisting: (name, actual) => {
      if (isBuiltinRealmRole(name, realm)) {
        throw new OwnershipError(
          `Realm role "${name}" in realm "${realm}" is one of Keycloak's own roles and is never changed; remove it from spec.roles (use spec.defaultRoles for the default roles)`,
        );
      }
      items.check(`Realm role "${name}" in realm "${realm}"`, actual);
    },
    create: (role) => (kc) => kc.roles.create({ realm, ...items.rep(role) }),
    update: (role, actual) => {
      const rep = items.update(role, actual);
      return rep && ((kc) => kc.roles.updateByName({ realm, name: rep.name }, rep));
    },
    remove: (name, actual) =>
      items.ours(actual) && !isBuiltinRealmRole(name, realm)
        ? (kc) => kc.roles.delByName({ realm, name })
        : undefined,
  };
  const { before, membershipChanged } = await syncCollection(session, roles, desired);
  if (membershipChanged) session.forgetRealmRoles();
  await syncRoleComposites(session, desired, before, {
    ref: (name) => session.realmRoleRef(name, `Role "${name}"`),
    describe: (name) => `role "${name}" in realm "${realm}"`,
  });
}

interface PlacedGroup {
  id: string;
  path: string;
  desired: GroupRepresentation;
}

// Keycloak pages group listings (children default to 10 per page).
const groupPage = 10_000;

/**
 * One level of groups (the top level, or the subgroups of `parent`), each group followed by its
 * own subgroups, depth first. Every group placed is appended to `placed` for the role mappings.
 */
async function syncGroupLevel(
  session: SyncSession,
  parent: { id?: string; path: string; knownEmpty: boolean },
  desired: GroupRepresentation[],
  items: Items,
  placed: PlacedGroup[],
): Promise<void> {
  const realm = session.realm;
  const parentId = parent.id;
  const where =
    parentId === undefined
      ? `top-level groups of realm "${realm}"`
      : `subgroups of "${parent.path}" in realm "${realm}"`;
  const page = { realm, briefRepresentation: false, first: 0, max: groupPage };
  const pathOf = (name: string) => `${parent.path}/${name}`;
  const groups: Collection<GroupRepresentation, GroupRepresentation, { id: string }> = {
    describe: (name) => `group "${pathOf(name)}" in realm "${realm}"`,
    field: (name) => `group:${pathOf(name)}`,
    nameOf: (group) => group.name ?? "",
    // A group just created, or one Keycloak reports without subgroups, has no children to list.
    list: async () =>
      parent.knownEmpty
        ? new Map()
        : indexByName(
            (
              await session.read(`list ${where}`, (kc) =>
                parentId === undefined
                  ? kc.groups.find(page)
                  : kc.groups.listSubGroups({ ...page, parentId }),
              )
            ).filter((g) => g.id),
          ),
    checkExisting: (name, actual) => items.check(`Group "${pathOf(name)}" in realm "${realm}"`, actual),
    create: (group) => (kc) =>
      parentId === undefined
        ? kc.groups.create({ realm, ...items.rep(group) })
        : kc.groups.createChildGroup({ realm, id: parentId }, items.rep(group)),
    update: (group, actual) => {
      const rep = items.update(group, actual);
      const id = actual.id ?? "";
      return rep && ((kc) => kc.groups.update({ realm, id }, rep));
    },
    remove: (_, actual) => {
      const id = actual.id ?? "";
      return items.ours(actual) ? (kc) => kc.groups.del({ realm, id }) : undefined;
    },
    placed: async (group, actual, created) => {
      const id = created?.id ?? actual?.id ?? "";
      const path = pathOf(group.name ?? "");
      placed.push({ id, path, desired: group });
      const knownEmpty = actual === undefined || actual.subGroupCount === 0;
      await syncGroupLevel(session, { id, path, knownEmpty }, group.subGroups ?? [], items, placed);
    },
  };
  await syncCollection(session, groups, desired);
}

/**
 * Each placed group's realm roles (when listed) and, per client it lists, that client's roles:
 * exactly the listed ones; other clients' mappings are left alone.
 */
async function syncGroupRoleMappings(session: SyncSession, placed: PlacedGroup[]): Promise<void> {
  const realm = session.realm;
  for (const { id, path, desired } of placed) {
    const clientRoles = desired.clientRoles as Record<string, string[]> | undefined;
    if (desired.realmRoles === undefined && clientRoles === undefined) continue;
    const usedBy = `Group "${path}"`;
    const mappings = await session.read(`read role mappings of group "${path}" in realm "${realm}"`, (kc) =>
      kc.groups.listRoleMappings({ realm, id }),
    );
    const held = heldOfMappings(mappings);
    const parts: { clientId?: string; names: string[] }[] = [];
    if (desired.realmRoles !== undefined) parts.push({ names: desired.realmRoles });
    for (const [clientId, names] of Object.entries(clientRoles ?? {}).sort(([a], [b]) => a.localeCompare(b)))
      parts.push({ clientId, names });
    for (const { clientId, names } of parts) {
      // The client must exist even when nothing of it is to change: the spec names it.
      if (clientId !== undefined) await session.clientUuid(clientId, usedBy);
      const own = clientId === undefined ? "realm roles" : `roles of client "${clientId}"`;
      await reconcileRoleRefs(session, {
        ...roleMappingsOf(session, { kind: "groups", id }),
        field: clientId === undefined ? `group:${path}.realmRoles` : `group:${path}.clientRoles.${clientId}`,
        describe: `${own} of group "${path}" in realm "${realm}"`,
        usedBy,
        wanted: roleKeysOf(clientId === undefined ? { realm: names } : { client: { [clientId]: names } }),
        held: () => Promise.resolve(held.filter((h) => parseRoleKey(h.key).clientId === clientId)),
      });
    }
  }
}

/**
 * Deletes the realm if this CR owns it. Returns false when it did not exist (already deleted).
 * `beforeDelete` runs only when the realm is about to be deleted (it exists and is this CR's); if it
 * throws, the realm is not deleted.
 */
export async function deleteRealm(
  conn: KeycloakConnection,
  realmName: string,
  owner: Owner,
  options: { beforeDelete?: () => Promise<void> } = {},
): Promise<boolean> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const actual = await session.read(`read realm "${realmName}"`, (kc) =>
    kc.realms.findOne({ realm: realmName }),
  );
  // Only a realm this CR created (or adopted) is deleted; one it never owned is left alone.
  if (!actual || !isOwnedBy(actual.attributes, owner)) return false;
  await options.beforeDelete?.();
  try {
    await session.write(
      "DELETE",
      "realm",
      `delete realm "${realmName}"`,
      (kc) => kc.realms.del({ realm: realmName }),
      realmLifecycleTimeoutMs,
    );
  } catch (err) {
    // Deleted by someone else between the read and the delete: the goal is reached.
    if (err instanceof KeycloakApiError && err.status === 404) return false;
    throw err;
  }
  return true;
}
