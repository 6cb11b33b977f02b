// One mechanism for every set of role references the operator manages: the composites of a realm
// or client role, the realm's default roles, a group's role mappings, a service account's roles.
// Each is described by what it holds now, which keys are wanted, which held ones this sync may take
// away, and the two requests that add and remove roles; `reconcileRoleRefs` computes the difference
// and writes it: additions first, then removals, each in key order, none when nothing differs.
import type MappingsRepresentation from "@keycloak/keycloak-admin-client/lib/defs/mappingsRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import type { AdminRequest } from "./collection.js";
import { setDifference } from "./diff.js";
import type { RoleRef, SyncSession } from "./session.js";

/** `realm:<name>` / `client:<clientId>:<name>`: one key space for realm and client roles. */
export function roleKey(role: { clientId?: string; name: string }): string {
  return role.clientId === undefined ? `realm:${role.name}` : `client:${role.clientId}:${role.name}`;
}

/** The keys of a realm/client role set as written in a CR (`{realm: [...], client: {id: [...]}}`). */
export function roleKeysOf(set: { realm?: string[]; client?: Record<string, string[]> }): string[] {
  const keys = (set.realm ?? []).map((name) => roleKey({ name }));
  for (const [clientId, names] of Object.entries(set.client ?? {})) {
    for (const name of names) keys.push(roleKey({ clientId, name }));
  }
  return keys;
}

export function parseRoleKey(key: string): { clientId?: string; name: string } {
  if (key.startsWith("realm:")) return { name: key.slice("realm:".length) };
  const rest = key.slice("client:".length);
  const sep = rest.indexOf(":");
  return { clientId: rest.slice(0, sep), name: rest.slice(sep + 1) };
}

/** Resolves role keys to `{id, name}` references, grouped by realm and by client uuid. */
export async function resolveRoleKeys(
  session: SyncSession,
  keys: string[],
  usedBy: string,
): Promise<{ realm: RoleRef[]; client: Map<string, RoleRef[]> }> {
  const realm: RoleRef[] = [];
  const client = new Map<string, RoleRef[]>();
  for (const key of keys) {
    const { clientId, name } = parseRoleKey(key);
    if (clientId === undefined) {
      realm.push(await session.realmRoleRef(name, usedBy));
    } else {
      const uuid = await session.clientUuid(clientId, usedBy);
      const list = client.get(uuid) ?? [];
      list.push(await session.clientRoleRef(clientId, name, usedBy));
      client.set(uuid, list);
    }
  }
  return { realm, client };
}

/** The keys recorded in an attribute (sorted JSON) as the roles this operator added. */
export function parseRecordedKeys(value: string | undefined): string[] {
  if (value === undefined || value === "") return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** A role the holder has now: its key (`realm:x`, `client:<clientId>:x`) and what a removal sends. */
export interface HeldRole {
  key: string;
  ref: RoleRef;
  /** The uuid of the role's client, for a client role. */
  clientUuid?: string;
}

export interface RoleReferences {
  /** The field the writes record: `role:x.composites`, `group:/a.realmRoles`, `serviceAccountRoles`. */
  field: string;
  /** What is changed, for messages: `composites of role "x" in realm "r"`. */
  describe: string;
  /** Who refers to the roles, for the message of a missing one. */
  usedBy: string;
  /** The wanted role keys. */
  wanted: readonly string[];
  held(): Promise<HeldRole[]>;
  /** May this sync remove a held role that is not wanted? Default: yes (the set is exact). */
  removable?(key: string): boolean;
  /**
   * Role mappings are written per container (the realm's roles, then each client's, by client
   * uuid: `container`); composites take realm and client roles in one request (`container` is
   * undefined).
   */
  perContainer?: boolean;
  add(container: string | undefined, roles: RoleRef[]): AdminRequest;
  remove(container: string | undefined, roles: RoleRef[]): AdminRequest;
  /** Runs once before the first write (the default roles widen their record here). */
  beforeChange?(): Promise<void>;
}

/** Adds the missing wanted roles and removes the removable unwanted ones; true when it wrote. */
export async function reconcileRoleRefs(session: SyncSession, refs: RoleReferences): Promise<boolean> {
  const held = new Map((await refs.held()).map((h) => [h.key, h]));
  const { toAdd, toRemove: unwanted } = setDifference(refs.wanted, held.keys());
  const toRemove = unwanted.filter((key) => refs.removable?.(key) ?? true);
  if (toAdd.length === 0 && toRemove.length === 0) return false;
  await refs.beforeChange?.();
  if (toAdd.length > 0) {
    const resolved = await resolveRoleKeys(session, toAdd, refs.usedBy);
    const batches: [string | undefined, RoleRef[]][] = [[undefined, resolved.realm], ...resolved.client];
    await writeBatches(session, refs, "POST", batches);
  }
  if (toRemove.length > 0) {
    const batches = new Map<string | undefined, RoleRef[]>([[undefined, []]]);
    for (const key of toRemove) {
      const role = held.get(key);
      if (!role) continue;
      const isClientRole = parseRoleKey(key).clientId !== undefined;
      // A client role whose client Keycloak did not name cannot be addressed for removal.
      if (isClientRole && refs.perContainer && !role.clientUuid) continue;
      const container = isClientRole ? role.clientUuid : undefined;
      batches.set(container, [...(batches.get(container) ?? []), role.ref]);
    }
    await writeBatches(session, refs, "DELETE", [...batches]);
  }
  return true;
}

async function writeBatches(
  session: SyncSession,
  refs: RoleReferences,
  method: "POST" | "DELETE",
  batches: [string | undefined, RoleRef[]][],
): Promise<void> {
  const verb = method === "POST" ? "add to" : "remove from";
  const request = method === "POST" ? refs.add.bind(refs) : refs.remove.bind(refs);
  const send = refs.perContainer ? batches : [[undefined, batches.flatMap(([, roles]) => roles)] as const];
  for (const [container, roles] of send) {
    if (roles.length === 0) continue;
    await session.write(method, refs.field, `${verb} the ${refs.describe}`, request(container, roles));
  }
}

/** The held roles of a composites read (or any list of role representations). */
export async function heldOfRoles(session: SyncSession, roles: RoleRepresentation[]): Promise<HeldRole[]> {
  const held: HeldRole[] = [];
  for (const r of roles) {
    if (!r.id || !r.name) continue;
    const clientId = r.clientRole && r.containerId ? await session.clientIdOf(r.containerId) : undefined;
    held.push({
      key: roleKey({ ...(clientId === undefined ? {} : { clientId }), name: r.name }),
      ref: { id: r.id, name: r.name },
    });
  }
  return held;
}

/** The held roles of a role-mappings read; client mappings are keyed by clientId: `{id, mappings}`. */
export function heldOfMappings(mappings: MappingsRepresentation): HeldRole[] {
  const held: HeldRole[] = [];
  for (const r of mappings.realmMappings ?? [])
    if (r.id && r.name) held.push({ key: roleKey({ name: r.name }), ref: { id: r.id, name: r.name } });
  const clients = (mappings.clientMappings ?? {}) as Record<
    string,
    { id?: string; mappings?: RoleRepresentation[] }
  >;
  for (const [clientId, entry] of Object.entries(clients)) {
    for (const r of entry.mappings ?? []) {
      if (!r.id || !r.name) continue;
      held.push({
        key: roleKey({ clientId, name: r.name }),
        ref: { id: r.id, name: r.name },
        ...(entry.id ? { clientUuid: entry.id } : {}),
      });
    }
  }
  return held;
}

/**
 * The composites of a realm or client role (by id): exactly `wanted` unless `removable` narrows
 * what may go. A role that did not exist or was not composite before this sync has none to read.
 */
export function compositesOf(
  session: SyncSession,
  role: { id: string; composite: boolean; field: string; describe: string; usedBy: string },
  wanted: readonly string[],
): RoleReferences {
  const realm = session.realm;
  return {
    field: role.field,
    describe: `composites of ${role.describe}`,
    usedBy: role.usedBy,
    wanted,
    held: async () =>
      role.composite
        ? heldOfRoles(
            session,
            await session.read(`read composites of ${role.describe}`, (kc) =>
              kc.roles.getCompositeRoles({ realm, id: role.id }),
            ),
          )
        : [],
    add: (_, roles) => (kc) => kc.roles.createComposite({ realm, roleId: role.id }, roles),
    remove: (_, roles) => (kc) => kc.roles.delCompositeRoles({ realm, id: role.id }, roles),
  };
}

/** The role mappings of a group or user (a service account), written per container. */
export function roleMappingsOf(
  session: SyncSession,
  holder: { kind: "groups" | "users"; id: string },
): Pick<RoleReferences, "perContainer" | "add" | "remove"> {
  const realm = session.realm;
  const { id } = holder;
  return {
    perContainer: true,
    add: (clientUniqueId, roles) => (kc) =>
      clientUniqueId === undefined
        ? kc[holder.kind].addRealmRoleMappings({ realm, id, roles })
        : kc[holder.kind].addClientRoleMappings({ realm, id, clientUniqueId, roles }),
    remove: (clientUniqueId, roles) => (kc) =>
      clientUniqueId === undefined
        ? kc[holder.kind].delRealmRoleMappings({ realm, id, roles })
        : kc[holder.kind].delClientRoleMappings({ realm, id, clientUniqueId, roles }),
  };
}

/**
 * The composites of each role of a just-synced role collection that lists them, in name order.
 * `before` is the collection as it was before the sync (whether a role was already composite).
 */
export async function syncRoleComposites(
  session: SyncSession,
  roles: readonly RoleRepresentation[],
  before: ReadonlyMap<string, RoleRepresentation>,
  role: { ref(name: string): Promise<RoleRef>; describe(name: string): string },
): Promise<void> {
  const sorted = [...roles].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  for (const { name = "", composites } of sorted) {
    if (!composites) continue;
    const { id } = await role.ref(name);
    const target = {
      id,
      composite: before.get(name)?.composite ?? false,
      field: `role:${name}.composites`,
      describe: role.describe(name),
      usedBy: `Role "${name}" (composites)`,
    };
    await reconcileRoleRefs(session, compositesOf(session, target, roleKeysOf(composites)));
  }
}
