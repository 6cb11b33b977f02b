// Diff-based realm sync: read the realm, compare only the fields the CR manages, write only what
// differs, in a fixed order (realm settings, roles, composites, groups, group role mappings). A
// resync of an unchanged world makes no write at all, which is what lets the operator resync
// often without loading Keycloak or flooding its admin events.
import { createHmac } from "node:crypto";
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type MappingsRepresentation from "@keycloak/keycloak-admin-client/lib/defs/mappingsRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import type { KeycloakConnection } from "./connection.js";
import { changedFields, isSubsetEqual, setDifference } from "./diff.js";
import { KeycloakApiError, MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, checkOwnership, isOwnedBy, ownerAttributes, type Owner } from "./ownership.js";
import {
  SyncSession,
  keysOfRoles,
  managedAttribute,
  realmLifecycleTimeoutMs,
  resolveRoleKeys,
  roleKeysOf,
  type RoleRef,
} from "./session.js";

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
  return `hmac-sha256:${createHmac("sha256", `kpo.dev/smtp/${owner.uid}`).update(password).digest("base64url")}`;
}

const realmSkip = new Set(["realm", "smtpServer", "id"]);

export async function syncRealm(
  conn: KeycloakConnection,
  desired: DesiredRealm,
  owner: Owner,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const realmName = desired.realm.realm;
  const session = new SyncSession(conn, realmName, owner.namespace);
  const ownerWithKind: Owner = { kind: "KeycloakRealm", ...owner };
  const created = await syncRealmSettings(session, desired, ownerWithKind, options.adopt ?? false);
  const adopt = options.adopt ?? false;
  if (desired.roles) await syncRoles(session, desired.roles, adopt);
  if (desired.groups) {
    const placed = await syncGroups(session, desired.groups, adopt);
    await syncGroupRoleMappings(session, placed);
  }
  if (desired.defaultRoles) await syncDefaultRoles(session, desired.defaultRoles);
  return { created, writes: session.writes, changedFields: session.changed };
}

/** Realm attribute listing the role keys this operator added to the default role (sorted JSON). */
export const defaultRolesAttribute = "kpo.dev/default-roles";

function parseKeys(value: string | undefined): string[] {
  if (value === undefined) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

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
  const recorded = parseKeys(attributeValue(rep.attributes, defaultRolesAttribute));
  const current = await session.read(`read the default roles of realm "${realm}"`, (kc) =>
    kc.roles.getCompositeRoles({ realm, id: roleId }),
  );
  const currentKeys = await keysOfRoles(session, current);
  const toAdd = setDifference(wanted, currentKeys).toAdd;
  const wantedSet = new Set(wanted);
  const toRemove = recorded.filter((k) => !wantedSet.has(k) && currentKeys.includes(k));
  const record = async (keys: string[]) => {
    const value = JSON.stringify(keys);
    const fresh = await read();
    if (attributeValue(fresh?.attributes, defaultRolesAttribute) === value) return;
    await session.write("PUT", "defaultRoles", `record the default roles of realm "${realm}"`, (kc) =>
      kc.realms.update({ realm }, { attributes: { ...fresh?.attributes, [defaultRolesAttribute]: value } }),
    );
  };
  if (toAdd.length === 0 && toRemove.length === 0) {
    if (JSON.stringify(recorded) !== JSON.stringify(wanted)) await record(wanted);
    return;
  }
  await record([...new Set([...recorded, ...wanted])].sort());
  if (toAdd.length > 0) {
    const add = await resolveRoleKeys(session, toAdd, "spec.defaultRoles");
    const reps = [...add.realm, ...[...add.client.values()].flat()];
    await session.write("POST", "defaultRoles", `add default roles to realm "${realm}"`, (kc) =>
      kc.roles.createComposite({ realm, roleId }, reps),
    );
  }
  if (toRemove.length > 0) {
    const removeKeys = new Set(toRemove);
    const reps = current
      .filter((r, i) => r.id && removeKeys.has(currentKeys[i] ?? ""))
      .map((r) => ({ id: r.id ?? "", name: r.name ?? "" }));
    await session.write("DELETE", "defaultRoles", `remove default roles from realm "${realm}"`, (kc) =>
      kc.roles.delCompositeRoles({ realm, id: roleId }, reps),
    );
  }
  await record(wanted);
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
  const actual = await session.read(`read realm "${name}"`, (kc) => kc.realms.findOne({ realm: name }));
  const attributes = desiredAttributes(desired, owner);

  if (!actual) {
    const rep: RealmRepresentation = { ...desired.realm, attributes };
    if (desired.smtpServer) rep.smtpServer = desired.smtpServer;
    await session.create(
      "realm",
      `create realm "${name}"`,
      (kc) => kc.realms.create(rep),
      realmLifecycleTimeoutMs,
    );
    return true;
  }

  checkOwnership(description, actual.attributes, owner, adopt);
  const want: Record<string, unknown> = { ...desired.realm, attributes };
  // The SMTP password hash is compared as part of smtpServer, not as an attribute of its own.
  const changed = changedFields(want, actual as Record<string, unknown>, realmSkip).filter(
    (f) => f !== `attributes.${smtpPasswordHashAttribute}`,
  );
  const smtpChanged =
    desired.smtpServer !== undefined && !smtpMatches(desired.smtpServer, actual, attributes);
  if (changed.length === 0 && !smtpChanged) return false;

  // Only the differing fields are sent. Keycloak replaces the whole attribute map when
  // `attributes` is present, so it is sent merged with what is there.
  const update: Record<string, unknown> = {};
  for (const field of changed) {
    if (field.startsWith("attributes.")) {
      update.attributes = { ...(actual.attributes as Record<string, unknown> | undefined), ...attributes };
    } else {
      update[field] = want[field];
    }
  }
  if (smtpChanged && desired.smtpServer) {
    update.smtpServer = desired.smtpServer;
    update.attributes = { ...(actual.attributes as Record<string, unknown> | undefined), ...attributes };
  }
  const fields = [...changed, ...(smtpChanged ? ["smtpServer"] : [])];
  session.changed.push(...fields.filter((f) => !session.changed.includes(f)));
  await session.write("PUT", fields[0] ?? "realm", `update realm "${name}" (${fields.join(", ")})`, (kc) =>
    kc.realms.update({ realm: name }, update as RealmRepresentation),
  );
  return false;
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

function withManagedMarker(attributes: Record<string, unknown> | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(attributes ?? {}))
    result[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  result[managedAttribute] = ["true"];
  return result;
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

/**
 * May this sync change an existing role or group? Only one it created (the managed marker), or,
 * in a realm this CR adopted, one nobody marked; never Keycloak's own.
 */
function mayChange(what: string, attributes: unknown, adopt: boolean): void {
  if (attributeValue(attributes, managedAttribute) === "true" || adopt) return;
  throw new OwnershipError(
    `${what} already exists and was not created by this operator; it is left alone. Rename it in the spec, or remove it from the spec`,
  );
}

async function syncRoles(
  session: SyncSession,
  desiredRoles: RoleRepresentation[],
  adopt: boolean,
): Promise<void> {
  const realm = session.realm;
  const actualRoles = await session.realmRoles();
  const sorted = [...desiredRoles].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  let createdAny = false;
  for (const role of sorted) {
    const name = role.name ?? "";
    const attributes = withManagedMarker(role.attributes);
    const actual = actualRoles.get(name);
    if (!actual) {
      await session.create(`role:${name}`, `create role "${name}" in realm "${realm}"`, (kc) =>
        kc.roles.create({
          realm,
          name,
          ...(role.description !== undefined ? { description: role.description } : {}),
          attributes,
        }),
      );
      createdAny = true;
      continue;
    }
    if (isBuiltinRealmRole(name, realm)) {
      throw new OwnershipError(
        `Realm role "${name}" in realm "${realm}" is one of Keycloak's own roles and is never changed; remove it from spec.roles (use spec.defaultRoles for the default roles)`,
      );
    }
    mayChange(`Realm role "${name}" in realm "${realm}"`, actual.attributes, adopt);
    const descriptionDiffers = role.description !== undefined && role.description !== actual.description;
    if (descriptionDiffers || !isSubsetEqual(attributes, actual.attributes ?? {})) {
      // A role PUT replaces description and attributes: send the full merged representation.
      const rep: RoleRepresentation = {
        name,
        description: role.description ?? actual.description ?? "",
        attributes: { ...actual.attributes, ...attributes },
      };
      await session.write("PUT", `role:${name}`, `update role "${name}" in realm "${realm}"`, (kc) =>
        kc.roles.updateByName({ realm, name }, rep),
      );
    }
  }
  const wanted = new Set(sorted.map((r) => r.name));
  for (const [name, actual] of [...actualRoles].sort(([a], [b]) => a.localeCompare(b))) {
    if (wanted.has(name) || attributeValue(actual.attributes, managedAttribute) !== "true") continue;
    await session.write(
      "DELETE",
      `role:${name}`,
      `delete role "${name}" (no longer in the spec) from realm "${realm}"`,
      (kc) => kc.roles.delByName({ realm, name }),
    );
    createdAny = true;
  }
  if (createdAny) session.forgetRealmRoles();

  for (const role of sorted) {
    if (!role.composites) continue;
    const name = role.name ?? "";
    const ref = await session.realmRoleRef(name, `Role "${name}"`);
    // A role that did not exist or was not composite before this sync has no composites to read.
    const current = actualRoles.get(name)?.composite
      ? await session.read(`read composites of role "${name}" in realm "${realm}"`, (kc) =>
          kc.roles.getCompositeRoles({ realm, id: ref.id }),
        )
      : [];
    const currentKeys = await keysOfRoles(session, current);
    const { toAdd, toRemove } = setDifference(roleKeysOf(role.composites), currentKeys);
    if (toAdd.length > 0) {
      const add = await resolveRoleKeys(session, toAdd, `Role "${name}" (composites)`);
      const reps = [...add.realm, ...[...add.client.values()].flat()];
      await session.write(
        "POST",
        `role:${name}.composites`,
        `add composites to role "${name}" in realm "${realm}"`,
        (kc) => kc.roles.createComposite({ realm, roleId: ref.id }, reps),
      );
    }
    if (toRemove.length > 0) {
      const removeKeys = new Set(toRemove);
      const reps = current
        .filter((r, i) => r.id && removeKeys.has(currentKeys[i] ?? ""))
        .map((r) => ({ id: r.id ?? "", name: r.name ?? "" }));
      await session.write(
        "DELETE",
        `role:${name}.composites`,
        `remove composites from role "${name}" in realm "${realm}"`,
        (kc) => kc.roles.delCompositeRoles({ realm, id: ref.id }, reps),
      );
    }
  }
}

interface PlacedGroup {
  id: string;
  path: string;
  desired: GroupRepresentation;
}

// Keycloak pages group listings (children default to 10 per page).
const groupPage = 10_000;

async function syncGroups(
  session: SyncSession,
  desiredTop: GroupRepresentation[],
  adopt: boolean,
): Promise<PlacedGroup[]> {
  const placed: PlacedGroup[] = [];
  await syncGroupLevel(session, undefined, "", desiredTop, placed, adopt);
  return placed;
}

async function syncGroupLevel(
  session: SyncSession,
  parentId: string | undefined,
  parentPath: string,
  desired: GroupRepresentation[],
  placed: PlacedGroup[],
  adopt: boolean,
  knownEmpty = false,
): Promise<void> {
  const realm = session.realm;
  // A group just created, or one Keycloak reports without subgroups, has no children to list.
  if (knownEmpty && desired.length === 0) return;
  const where =
    parentId === undefined
      ? `top-level groups of realm "${realm}"`
      : `subgroups of "${parentPath}" in realm "${realm}"`;
  const actual = knownEmpty
    ? []
    : await session.read(`list ${where}`, (kc) =>
        parentId === undefined
          ? kc.groups.find({ realm, briefRepresentation: false, first: 0, max: groupPage })
          : kc.groups.listSubGroups({
              realm,
              parentId,
              briefRepresentation: false,
              first: 0,
              max: groupPage,
            }),
      );
  const byName = new Map(actual.filter((g) => g.name).map((g) => [g.name ?? "", g]));
  const sorted = [...desired].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  for (const group of sorted) {
    const name = group.name ?? "";
    const path = `${parentPath}/${name}`;
    const attributes = withManagedMarker(group.attributes as Record<string, unknown> | undefined);
    const existing = byName.get(name);
    let id: string;
    if (!existing?.id) {
      const rep: GroupRepresentation = {
        name,
        attributes,
        ...(group.description !== undefined ? { description: group.description } : {}),
      };
      const createdGroup = await session.create(
        `group:${path}`,
        `create group "${path}" in realm "${realm}"`,
        (kc) =>
          parentId === undefined
            ? kc.groups.create({ realm, ...rep })
            : kc.groups.createChildGroup({ realm, id: parentId }, rep),
      );
      id = createdGroup.id;
    } else {
      id = existing.id;
      mayChange(`Group "${path}" in realm "${realm}"`, existing.attributes, adopt);
      const descriptionDiffers =
        group.description !== undefined && group.description !== existing.description;
      if (descriptionDiffers || !isSubsetEqual(attributes, existing.attributes ?? {})) {
        const rep: GroupRepresentation = {
          name,
          description: group.description ?? existing.description ?? "",
          attributes: { ...existing.attributes, ...attributes },
        };
        await session.write("PUT", `group:${path}`, `update group "${path}" in realm "${realm}"`, (kc) =>
          kc.groups.update({ realm, id }, rep),
        );
      }
    }
    placed.push({ id, path, desired: group });
    await syncGroupLevel(
      session,
      id,
      path,
      group.subGroups ?? [],
      placed,
      adopt,
      !existing?.id || existing.subGroupCount === 0,
    );
  }
  const wanted = new Set(sorted.map((g) => g.name));
  for (const [name, g] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    if (wanted.has(name) || !g.id || attributeValue(g.attributes, managedAttribute) !== "true") continue;
    const id = g.id;
    await session.write(
      "DELETE",
      `group:${parentPath}/${name}`,
      `delete group "${parentPath}/${name}" (no longer in the spec) from realm "${realm}"`,
      (kc) => kc.groups.del({ realm, id }),
    );
  }
}

async function syncGroupRoleMappings(session: SyncSession, placed: PlacedGroup[]): Promise<void> {
  const realm = session.realm;
  for (const { id, path, desired } of placed) {
    const clientRoles = desired.clientRoles as Record<string, string[]> | undefined;
    if (desired.realmRoles === undefined && clientRoles === undefined) continue;
    const usedBy = `Group "${path}"`;
    const mappings: MappingsRepresentation = await session.read(
      `read role mappings of group "${path}" in realm "${realm}"`,
      (kc) => kc.groups.listRoleMappings({ realm, id }),
    );
    if (desired.realmRoles !== undefined) {
      const actualNames = (mappings.realmMappings ?? []).map((r) => r.name ?? "");
      const { toAdd, toRemove } = setDifference(desired.realmRoles, actualNames);
      if (toAdd.length > 0) {
        const roles: RoleRef[] = [];
        for (const n of toAdd) roles.push(await session.realmRoleRef(n, usedBy));
        await session.write(
          "POST",
          `group:${path}.realmRoles`,
          `add realm roles to group "${path}" in realm "${realm}"`,
          (kc) => kc.groups.addRealmRoleMappings({ realm, id, roles }),
        );
      }
      if (toRemove.length > 0) {
        const remove = new Set(toRemove);
        const roles = (mappings.realmMappings ?? [])
          .filter((r) => r.id && r.name && remove.has(r.name))
          .map((r) => ({ id: r.id ?? "", name: r.name ?? "" }));
        await session.write(
          "DELETE",
          `group:${path}.realmRoles`,
          `remove realm roles from group "${path}" in realm "${realm}"`,
          (kc) => kc.groups.delRealmRoleMappings({ realm, id, roles }),
        );
      }
    }
    for (const [clientId, names] of Object.entries(clientRoles ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const clientUniqueId = await session.clientUuid(clientId, usedBy);
      const current = clientMappingsOf(mappings, clientId);
      const { toAdd, toRemove } = setDifference(
        names,
        current.map((r) => r.name ?? ""),
      );
      if (toAdd.length > 0) {
        const roles: RoleRef[] = [];
        for (const n of toAdd) roles.push(await session.clientRoleRef(clientId, n, usedBy));
        await session.write(
          "POST",
          `group:${path}.clientRoles.${clientId}`,
          `add roles of client "${clientId}" to group "${path}"`,
          (kc) => kc.groups.addClientRoleMappings({ realm, id, clientUniqueId, roles }),
        );
      }
      if (toRemove.length > 0) {
        const remove = new Set(toRemove);
        const roles = current
          .filter((r) => r.id && r.name && remove.has(r.name))
          .map((r) => ({ id: r.id ?? "", name: r.name ?? "" }));
        await session.write(
          "DELETE",
          `group:${path}.clientRoles.${clientId}`,
          `remove roles of client "${clientId}" from group "${path}"`,
          (kc) => kc.groups.delClientRoleMappings({ realm, id, clientUniqueId, roles }),
        );
      }
    }
  }
}

/** The client-role part of a role-mappings read is keyed by clientId: `{id, client, mappings}`. */
function clientMappingsOf(mappings: MappingsRepresentation, clientId: string): RoleRepresentation[] {
  const entry = (mappings.clientMappings ?? {})[clientId] as { mappings?: RoleRepresentation[] } | undefined;
  return entry?.mappings ?? [];
}

/** Deletes the realm if this CR owns it. Returns false when it did not exist (already deleted). */
export async function deleteRealm(
  conn: KeycloakConnection,
  realmName: string,
  owner: Owner,
): Promise<boolean> {
  const session = new SyncSession(conn, realmName, owner.namespace);
  const actual = await session.read(`read realm "${realmName}"`, (kc) =>
    kc.realms.findOne({ realm: realmName }),
  );
  // Only a realm this CR created (or adopted) is deleted; one it never owned is left alone.
  if (!actual || !isOwnedBy(actual.attributes, owner)) return false;
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
