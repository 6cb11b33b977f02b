// The last policy check before a realm or client is written: the guard decided from the caches,
// which know the composites the specs declare but not the ones that exist only in Keycloak (a role
// "ops" made by hand, with realm-admin in it). Right before its first write, provision reads the
// live composites of every role the spec's grants reach (and the role mappings of every group they
// join), transitively, and asks the policies again with them (input.keycloakRoles, folded into
// input.privilege by the engine). A user's groups are read the same way: the live role mappings of
// every group it is to join, and of their parents (input.keycloakGroups), whose roles then join the
// closure. Only reads happen before this check; a denial throws PolicyDeniedError and nothing is
// written.
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import { KeycloakApiError } from "../keycloak/errors.js";
import type { KeycloakConnection } from "../keycloak/connection.js";
import { findGroupByPath } from "../keycloak/groupPaths.js";
import { SyncSession } from "../keycloak/session.js";
import { PolicyDeniedError } from "../lifecycle/errors.js";
import { isDenied } from "../lifecycle/status.js";
import type { DecideFn, PolicyInput } from "../policy/decision.js";
import {
  anyRole,
  roleKeyOf,
  rolesToRead,
  userGroupPaths,
  type LiveGroup,
  type LiveRole,
  type RoleName,
} from "../policy/privilege.js";

/** Bounds the reads for a pathological graph; the closure itself is bounded in privilege.ts. */
const MAX_ROUNDS = 32;

/** Reads one role's composites; a role (or client, or realm) that does not exist has none. */
class LiveRoleReader {
  readonly #session: SyncSession;

  constructor(session: SyncSession) {
    this.#session = session;
  }

  async composites(role: RoleName): Promise<RoleName[]> {
    if (role.group) return this.#groupRoles(role.name);
    if (role.name === anyRole) return this.#everyRole(role.client);
    const rep = await this.#representation(role);
    if (!rep?.id || !rep.composite) return [];
    const id = rep.id;
    const session = this.#session;
    const composites = await session.read(
      `read composites of role "${role.name}" in realm "${session.realm}"`,
      (kc) => kc.roles.getCompositeRoles({ realm: session.realm, id }),
    );
    const out: RoleName[] = [];
    for (const c of composites) {
      if (!c.name) continue;
      if (c.clientRole && c.containerId)
        out.push({ client: await session.clientIdOf(c.containerId), name: c.name });
      else out.push({ name: c.name });
    }
    return out;
  }

  /**
   * `*` (any role of a client, or of the realm: what an LDAP role mapper reaches, since the directory
   * names the roles) has every live role of its container as its composites, so the closure follows
   * each of them, hand-made composites included.
   */
  async #everyRole(client: string | undefined): Promise<RoleName[]> {
    const session = this.#session;
    const roles = client === undefined ? await session.realmRoles() : await session.clientRoles(client);
    return [...roles.keys()].map((name) => (client === undefined ? { name } : { client, name }));
  }

  /** The roles mapped to a group (its parent's are followed by the graph itself). */
  async #groupRoles(path: string): Promise<RoleName[]> {
    const session = this.#session;
    const group = await findGroupByPath(session, path);
    if (!group?.id) return [];
    const id = group.id;
    const mappings = await session.read(
      `read role mappings of group "${path}" in realm "${session.realm}"`,
      (kc) => kc.groups.listRoleMappings({ realm: session.realm, id }),
    );
    const out: RoleName[] = (mappings.realmMappings ?? []).flatMap((r) => (r.name ? [{ name: r.name }] : []));
    for (const [clientId, client] of Object.entries(mappings.clientMappings ?? {})) {
      const roles = (client as { mappings?: { name?: string }[] }).mappings ?? [];
      for (const r of roles) if (r.name) out.push({ client: clientId, name: r.name });
    }
    return out;
  }

  async #representation(role: RoleName): Promise<RoleRepresentation | undefined> {
    const session = this.#session;
    return role.client === undefined
      ? (await session.realmRoles()).get(role.name)
      : (await session.clientRoles(role.client)).get(role.name);
  }
}

/** The live composites of every role the input's grants reach, expanded until nothing new is reached. */
export async function liveRolesOf(
  conn: KeycloakConnection,
  realmName: string,
  namespace: string,
  input: PolicyInput,
): Promise<LiveRole[]> {
  const reader = new LiveRoleReader(new SyncSession(conn, realmName, namespace));
  const live: LiveRole[] = [];
  const read = new Set<string>();
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const pending = rolesToRead(input, live, read);
      if (pending.length === 0) break;
      for (const role of pending) {
        read.add(roleKeyOf(role));
        const composites = await reader.composites(role);
        if (composites.length > 0) live.push({ role, composites });
      }
    }
  } catch (err) {
    // A realm that does not exist yet has no roles beyond what its spec declares.
    if (err instanceof KeycloakApiError && err.status === 404) return live;
    throw err;
  }
  return live;
}

// Keycloak pages group listings (children default to 10 per page).
const groupPage = 10_000;

/**
 * The live role mappings of every group a user's spec makes it a member of, of the realm's default
 * groups (every new user joins them), and of all their parents. A group that does not exist (yet)
 * maps nothing; the sync reports it missing.
 */
export async function liveGroupsOf(
  conn: KeycloakConnection,
  realmName: string,
  namespace: string,
  input: PolicyInput,
): Promise<LiveGroup[]> {
  if (input.kind !== "KeycloakUser") return [];
  const session = new SyncSession(conn, realmName, namespace);
  const realm = realmName;
  const ids = new Map<string, string>();
  const out: LiveGroup[] = [];
  try {
    // A new user joins the realm's default groups (and so inherits their parents' roles) at once.
    const defaults = await session.read(`read the default groups of realm "${realm}"`, (kc) =>
      kc.realms.getDefaultGroups({ realm }),
    );
    const defaultPaths = new Set(defaults.flatMap((g) => (g.path ? [g.path] : [])));
    const paths = [
      ...new Set([...userGroupPaths(input.resource.spec), ...userGroupPaths({ groups: [...defaultPaths] })]),
    ].sort();
    for (const path of paths) {
      const parent = path.slice(0, path.lastIndexOf("/"));
      const name = path.slice(path.lastIndexOf("/") + 1);
      const parentId = parent === "" ? undefined : ids.get(parent);
      if (parent !== "" && parentId === undefined) continue;
      const page = { realm, first: 0, max: groupPage, briefRepresentation: true };
      const level = await session.read(`list groups under "${parent || "/"}" in realm "${realm}"`, (kc) =>
        parentId === undefined ? kc.groups.find(page) : kc.groups.listSubGroups({ ...page, parentId }),
      );
      const id = level.find((g) => g.name === name)?.id;
      if (!id) continue;
      ids.set(path, id);
      const mappings = await session.read(`read role mappings of group "${path}" in realm "${realm}"`, (kc) =>
        kc.groups.listRoleMappings({ realm, id }),
      );
      const roles: RoleName[] = (mappings.realmMappings ?? []).flatMap((r) =>
        r.name ? [{ name: r.name }] : [],
      );
      const clients = (mappings.clientMappings ?? {}) as Record<string, { mappings?: { name?: string }[] }>;
      for (const [client, entry] of Object.entries(clients))
        for (const r of entry.mappings ?? []) if (r.name) roles.push({ client, name: r.name });
      if (roles.length > 0 || defaultPaths.has(path))
        out.push({ path, roles, ...(defaultPaths.has(path) ? { isDefault: true } : {}) });
    }
  } catch (err) {
    // A realm that does not exist yet has no groups beyond what its spec declares.
    if (err instanceof KeycloakApiError && err.status === 404) return out;
    throw err;
  }
  return out;
}

/** Throws PolicyDeniedError when the grants, with Keycloak's live composites, reach too far. */
export async function checkLivePrivilege(
  conn: KeycloakConnection,
  realmName: string,
  input: PolicyInput,
  decide: DecideFn,
): Promise<void> {
  const namespace = input.resource.metadata.namespace;
  const keycloakGroups = await liveGroupsOf(conn, realmName, namespace, input);
  const withGroups = keycloakGroups.length > 0 ? { ...input, keycloakGroups } : input;
  const keycloakRoles = await liveRolesOf(conn, realmName, namespace, withGroups);
  if (keycloakRoles.length === 0 && keycloakGroups.length === 0) return;
  const decision = decide({ ...withGroups, keycloakRoles });
  if (isDenied(decision)) throw new PolicyDeniedError(decision);
}
