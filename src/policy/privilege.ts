// Effective privilege: what each grant a spec makes confers once composite roles are expanded.
//
// A role granted to a service account, a group, a user or the realm's default roles confers that role and,
// transitively, every composite of it, across realm and client roles. A rule that only looks at the
// names granted directly is bypassed by a role "ops" whose composites include
// realm-management/realm-admin, so the policies never look at names: the engine hands them, for every
// grant, each role it reaches and the path that reaches it, and the authorization policy denies any
// path to a privileged role (policies/authorization/authorization.rego).
//
// The role graph has two sources. The desired spec (the realm's `spec.roles`, the client's own
// `spec.roles`) says what composites a role will have once synced; where the spec does not manage a
// role's composites, Keycloak's live roles say what it has now (`keycloakRoles`, read by the operator
// right before it writes, src/operator/privilegeFacts.ts). Without live roles (an offline
// `kpo policy eval`, the guard run from the caches) the closure covers what the specs say.
import { groupMapperTypes, roleMapperTypes } from "../keycloak/identityProviderMapperTypes.js";
import type { PolicyInput } from "./decision.js";

/**
 * A realm role (`client` absent) or a role of the client with that clientId — or, with `group`, a
 * realm group by path (`name`): a node of the graph whose edges are its role mappings and its
 * parent group (a member of /a/b holds the roles of /a too). Group nodes are followed, never
 * reported as reached roles.
 */
export interface RoleName {
  client?: string;
  name: string;
  group?: true;
}

export function groupNode(path: string): RoleName {
  return { name: path, group: true };
}

function parentGroup(node: RoleName): RoleName | undefined {
  const slash = node.name.lastIndexOf("/");
  return node.group && slash > 0 ? groupNode(node.name.slice(0, slash)) : undefined;
}

/** A role as policies see it: its parts and its display form (`ops`, `realm-management/realm-admin`). */
export interface ReachedRole extends RoleName {
  role: string;
  /** Display names from the granted role to this one, both included. */
  path: string[];
}

/** One grant a spec makes, with everything it confers. */
export interface PrivilegeGrant {
  /** Where in the spec: `spec.serviceAccount.realmRoles`, `spec.groups[/ops].clientRoles`, … */
  field: string;
  /** Who receives it: `the service account`, `group /ops`, `role ops`, `every user (default roles)`. */
  grantee: string;
  /** The roles it confers, the granted ones first (path of one). */
  reaches: ReachedRole[];
}

/** Live composites of a role in Keycloak, as the operator read them. */
export interface LiveRole {
  role: RoleName;
  composites: RoleName[];
}

/** Live role mappings of a realm group, by path, as the operator read them. */
export interface LiveGroup {
  path: string;
  roles: RoleName[];
  /** One of the realm's default groups, which Keycloak makes every new user a member of. */
  isDefault?: boolean;
}

export interface PrivilegeFacts {
  /** The realm the grants are made in (`master` makes every role privileged). */
  realm: string;
  grants: PrivilegeGrant[];
}

interface RoleSetSpec {
  realm?: string[];
  client?: Record<string, string[] | undefined>;
}

interface RoleSpec {
  name?: string;
  composites?: RoleSetSpec;
}

interface GroupSpec {
  name?: string;
  realmRoles?: string[];
  clientRoles?: Record<string, string[] | undefined>;
  subGroups?: GroupSpec[];
}

/** Guards against a graph built to be huge: the closure stops there (and says so). */
const MAX_REACHED = 4096;

export function displayRole(role: RoleName): string {
  if (role.group) return `group ${role.name}`;
  return role.client === undefined ? role.name : `${role.client}/${role.name}`;
}

// JSON tuples as map keys: clientIds may contain ':' or '/' (URLs), role names may contain '/'.
// Groups are triples, so no client or role name can collide with one.
export function roleKeyOf(role: RoleName): string {
  return role.group
    ? JSON.stringify(["group", role.name, null])
    : JSON.stringify([role.client ?? null, role.name]);
}

function rolesOf(set: RoleSetSpec | undefined): RoleName[] {
  if (typeof set !== "object" || set === null) return [];
  const out: RoleName[] = [];
  for (const name of arrayOf(set.realm)) out.push({ name });
  for (const [client, names] of Object.entries(objectOf(set.client))) {
    for (const name of arrayOf(names)) out.push({ client, name });
  }
  return out;
}

function arrayOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The composites graph: desired spec first; live roles for what the spec does not manage. */
export class RoleGraph {
  readonly #edges = new Map<string, RoleName[]>();
  readonly #desired = new Set<string>();

  /** Composites the spec manages: replace whatever Keycloak has now. */
  setDesired(role: RoleName, composites: RoleName[]): void {
    this.#edges.set(roleKeyOf(role), composites);
    this.#desired.add(roleKeyOf(role));
  }

  /** Keycloak's composites, for roles whose composites the spec does not manage. */
  addLive(role: RoleName, composites: RoleName[]): void {
    const key = roleKeyOf(role);
    if (role.group) this.addGroupRoles(role, composites);
    else if (!this.#edges.has(key)) this.#edges.set(key, composites);
  }

  /**
   * A group's roles add up from every source (the realm spec, Keycloak): the spec may manage only
   * some of a group's mappings, and a mapping the next realm sync would remove still counts until
   * then. Groups are therefore never "desired": Keycloak's mappings are always read too.
   */
  addGroupRoles(group: RoleName, roles: RoleName[]): void {
    const key = roleKeyOf(group);
    this.#edges.set(key, [...(this.#edges.get(key) ?? []), ...roles]);
  }

  /** Does the spec say what this role's composites are? Then Keycloak's need not be read. */
  isDesired(role: RoleName): boolean {
    return this.#desired.has(roleKeyOf(role));
  }

  composites(role: RoleName): RoleName[] {
    const edges = this.#edges.get(roleKeyOf(role)) ?? [];
    const parent = parentGroup(role);
    return parent ? [...edges, parent] : edges;
  }

  /** Every role reached from `roots` (roots included), each with its shortest path; groups are passed through. */
  reach(roots: RoleName[]): ReachedRole[] {
    return this.reachNodes(roots)
      .filter((r) => !r.group)
      .map(({ client, name, role, path }) =>
        client === undefined ? { name, role, path } : { client, name, role, path },
      );
  }

  /** Every node (roles and groups) reached from `roots`, roots included. */
  reachNodes(roots: RoleName[]): (ReachedRole & { group?: true })[] {
    const seen = new Map<string, ReachedRole>();
    const queue: ReachedRole[] = [];
    for (const root of roots) {
      const key = roleKeyOf(root);
      if (seen.has(key)) continue;
      const reached = { ...root, role: displayRole(root), path: [displayRole(root)] };
      seen.set(key, reached);
      queue.push(reached);
    }
    for (let i = 0; i < queue.length && seen.size < MAX_REACHED; i++) {
      const from = queue[i] as ReachedRole;
      for (const next of this.composites(from)) {
        const key = roleKeyOf(next);
        if (seen.has(key)) continue;
        const reached = { ...next, role: displayRole(next), path: [...from.path, displayRole(next)] };
        seen.set(key, reached);
        queue.push(reached);
      }
    }
    return [...seen.values()];
  }
}

/** The roles defined in a realm spec and, for a client, in the client's own spec. */
function desiredGraph(input: PolicyInput, live: LiveRole[]): RoleGraph {
  const graph = new RoleGraph();
  const realmSpec = input.kind === "KeycloakRealm" ? input.resource.spec : input.target?.realm?.spec;
  for (const role of arrayOfObjects<RoleSpec>(objectOf(realmSpec).roles)) {
    if (typeof role.name === "string" && role.composites !== undefined)
      graph.setDesired({ name: role.name }, rolesOf(role.composites));
  }
  forEachGroup(arrayOfObjects<GroupSpec>(objectOf(realmSpec).groups), "", (path, group) =>
    graph.addGroupRoles(groupNode(path), rolesOf({ realm: group.realmRoles, client: group.clientRoles })),
  );
  if (input.kind === "KeycloakClient") {
    const client = clientIdOf(input);
    for (const role of arrayOfObjects<RoleSpec>(input.resource.spec.roles)) {
      if (typeof role.name === "string" && role.composites !== undefined)
        graph.setDesired({ client, name: role.name }, rolesOf(role.composites));
    }
  }
  for (const { role, composites } of live) graph.addLive(role, composites);
  return graph;
}

/** Each group of a realm spec with its path, parents first. */
function forEachGroup(
  groups: GroupSpec[],
  parent: string,
  visit: (path: string, group: GroupSpec) => void,
): void {
  for (const group of groups) {
    const path = `${parent}/${String(group.name ?? "")}`;
    visit(path, group);
    forEachGroup(arrayOfObjects<GroupSpec>(group.subGroups), path, visit);
  }
}

function arrayOfObjects<T>(value: unknown): T[] {
  return Array.isArray(value) ? value.filter((v): v is T => typeof v === "object" && v !== null) : [];
}

function clientIdOf(input: PolicyInput): string {
  const id = input.resource.spec.clientId;
  return typeof id === "string" ? id : "";
}

function realmNameOf(input: PolicyInput): string {
  const spec = input.kind === "KeycloakRealm" ? input.resource.spec : input.target?.realm?.spec;
  const name = objectOf(spec).realmName;
  return typeof name === "string" ? name : "";
}

/**
 * `oidc-hardcoded-role-mapper` puts a role in every token of the client (`saml-hardcode-role-mapper`
 * in every assertion, with the same setting). Keycloak reads its `role`
 * setting as `clientId.role` when the part before the last dot names a client, else as a realm role;
 * both readings are returned, so neither can hide a privileged role.
 */
export function hardcodedRoles(setting: string): RoleName[] {
  const dot = setting.lastIndexOf(".");
  if (dot <= 0) return [{ name: setting }];
  return [{ client: setting.slice(0, dot), name: setting.slice(dot + 1) }, { name: setting }];
}

/** Mapper types that put a fixed role in every token (OIDC) or assertion (SAML) of the client. */
export const hardcodedRoleMappers: ReadonlySet<string> = new Set([
  "oidc-hardcoded-role-mapper",
  "saml-hardcode-role-mapper",
]);

interface ScopeSpec {
  name?: string;
  protocolMappers?: unknown;
}

/**
 * A client scope's hardcoded role mappers reach every client that uses the scope: a realm's scope
 * is a grant to every client of the realm that links it (or gets it as a realm default).
 */
function rootsOfScope(scope: ScopeSpec, field: string, grantee: string): Root[] {
  const roots: Root[] = [];
  for (const mapper of arrayOfObjects<{ name?: string; protocolMapper?: string; config?: unknown }>(
    scope.protocolMappers,
  )) {
    if (!hardcodedRoleMappers.has(String(mapper.protocolMapper))) continue;
    const setting = objectOf(mapper.config).role;
    if (typeof setting !== "string" || setting === "") continue;
    roots.push({
      field: `${field}.protocolMappers[${String(mapper.name ?? "")}]`,
      grantee,
      roles: hardcodedRoles(setting),
    });
  }
  return roots;
}

function rootsOfRealmScopes(spec: Record<string, unknown>): Root[] {
  return arrayOfObjects<ScopeSpec>(spec.clientScopes).flatMap((scope) => {
    const name = String(scope.name ?? "");
    return rootsOfScope(
      scope,
      `spec.clientScopes[${name}]`,
      `every token of a client using client scope ${name} (hardcoded role)`,
    );
  });
}

/**
 * The realm's scopes a KeycloakClient links: what they hardcode lands in the client's tokens, so it
 * counts as the client's grant too, decided for the client's own namespace.
 */
function rootsOfLinkedScopes(input: PolicyInput): Root[] {
  if (input.kind !== "KeycloakClient") return [];
  const spec = objectOf(input.resource.spec);
  const realmScopes = arrayOfObjects<ScopeSpec>(objectOf(input.target?.realm?.spec).clientScopes);
  const roots: Root[] = [];
  for (const list of ["defaultClientScopes", "optionalClientScopes"]) {
    for (const name of arrayOf(spec[list])) {
      const scope = realmScopes.find((s) => s.name === name);
      if (scope)
        roots.push(
          ...rootsOfScope(scope, `spec.${list}[${name}]`, `every token of the client (client scope ${name})`),
        );
    }
  }
  return roots;
}

interface LdapMapperSpec {
  name?: string;
  type?: string;
  config?: unknown;
}

interface LdapProviderSpec {
  name?: string;
  mappers?: unknown;
}

/** The spec's groups by path (`/ops`, `/ops/oncall`) with the roles each maps. */
function groupRolesByPath(spec: Record<string, unknown>): Map<string, RoleName[]> {
  const byPath = new Map<string, RoleName[]>();
  const visit = (groups: GroupSpec[], parent: string) => {
    for (const group of groups) {
      const path = `${parent}/${String(group.name ?? "")}`;
      byPath.set(path, rolesOf({ realm: group.realmRoles, client: group.clientRoles }));
      visit(arrayOfObjects<GroupSpec>(group.subGroups), path);
    }
  };
  visit(arrayOfObjects<GroupSpec>(spec.groups), "");
  return byPath;
}

/**
 * LDAP mappers are grants to every user the directory holds, and whoever writes the directory (often
 * the tenant itself) decides who those users are and which groups they are in:
 * - `hardcoded-ldap-role-mapper` gives its `role` (read like a hardcoded token role) to all of them;
 * - `role-ldap-mapper` gives the role named by each directory group the user is in. Mapping into a
 *   client (`use.realm.roles.mapping` false, `client.id`) reaches any role of that client, so it is
 *   `<client>/*`: a privileged client such as realm-management is denied whatever the directory
 *   holds. Mapping into realm roles reaches every realm role the spec defines, composites included,
 *   and `*`. The last check before writing (src/operator/privilegeCheck.ts) expands `*` to every live
 *   role of its client or realm, so a hand-made composite reached that way is seen too;
 * - `hardcoded-ldap-group-mapper` puts everyone in its `group`, and `group-ldap-mapper` in any group
 *   under its `groups.path` the directory names: both reach the roles those spec groups map.
 */
/** The role name standing for any role of its client (or of the realm). */
export const anyRole = "*";

function rootsOfLdapMappers(spec: Record<string, unknown>): Root[] {
  const roots: Root[] = [];
  const groupRoles = groupRolesByPath(spec);
  const realmRoles = arrayOfObjects<RoleSpec>(spec.roles)
    .filter((r) => typeof r.name === "string")
    .map((r) => ({ name: String(r.name) }));
  for (const provider of arrayOfObjects<LdapProviderSpec>(objectOf(spec.userFederation).ldap)) {
    const providerName = String(provider.name ?? "");
    for (const mapper of arrayOfObjects<LdapMapperSpec>(provider.mappers)) {
      const config = objectOf(mapper.config);
      const setting = (key: string) => (typeof config[key] === "string" ? config[key] : undefined);
      let roles: RoleName[] = [];
      if (mapper.type === "hardcoded-ldap-role-mapper") {
        const role = setting("role");
        if (role) roles = hardcodedRoles(role);
      } else if (mapper.type === "role-ldap-mapper") {
        const client = setting("client.id");
        roles =
          setting("use.realm.roles.mapping") === "false" && client
            ? [{ client, name: anyRole }]
            : [...realmRoles, { name: anyRole }];
      } else if (mapper.type === "hardcoded-ldap-group-mapper") {
        roles = groupRoles.get(setting("group") ?? "") ?? [];
      } else if (mapper.type === "group-ldap-mapper") {
        const under = (setting("groups.path") ?? "/").replace(/\/+$/, "");
        for (const [path, mapped] of groupRoles) if (path.startsWith(`${under}/`)) roles.push(...mapped);
      }
      if (roles.length === 0) continue;
      roots.push({
        field: `spec.userFederation.ldap[${providerName}].mappers[${String(mapper.name ?? "")}]`,
        grantee: `users of LDAP provider "${providerName}" (${String(mapper.type)})`,
        roles,
      });
    }
  }
  return roots;
}

interface Root {
  field: string;
  grantee: string;
  roles: RoleName[];
  /** A role definition confers its composites, not itself. */
  excludeRoot?: boolean;
}

function rootsOfRealm(spec: Record<string, unknown>): Root[] {
  const roots: Root[] = [];
  for (const role of arrayOfObjects<RoleSpec>(spec.roles)) {
    if (typeof role.name !== "string" || role.composites === undefined) continue;
    roots.push({
      field: `spec.roles[${role.name}].composites`,
      grantee: `role ${role.name}`,
      roles: [{ name: role.name }],
      excludeRoot: true,
    });
  }
  const visit = (groups: GroupSpec[], parent: string) => {
    for (const group of groups) {
      const path = `${parent}/${String(group.name ?? "")}`;
      const roles = rolesOf({ realm: group.realmRoles, client: group.clientRoles });
      if (roles.length > 0) roots.push({ field: `spec.groups[${path}]`, grantee: `group ${path}`, roles });
      visit(arrayOfObjects<GroupSpec>(group.subGroups), path);
    }
  };
  visit(arrayOfObjects<GroupSpec>(spec.groups), "");
  roots.push(...rootsOfRealmScopes(spec));
  roots.push(...rootsOfLdapMappers(spec));
  roots.push(...defaultGroupRoots(spec));
  const defaults = rolesOf(spec.defaultRoles as RoleSetSpec | undefined);
  if (defaults.length > 0)
    roots.push({
      field: "spec.defaultRoles",
      grantee: "every user (the realm's default roles)",
      roles: defaults,
    });
  roots.push(...rootsOfIdentityProviderMappers(spec));
  return roots;
}

/**
 * An identity provider mapper is a grant to every user the provider sends: a role mapper grants its
 * role (a condition on a claim is no limit, since whoever runs the provider writes the claims), a
 * group mapper the roles of the group and of its parents, as spec.groups declares them (the sync
 * refuses a group mapper naming a group the spec does not declare).
 */
function rootsOfIdentityProviderMappers(spec: Record<string, unknown>): Root[] {
  const groupRoles = new Map<string, RoleName[]>();
  const visit = (groups: GroupSpec[], parent: string, inherited: RoleName[]) => {
    for (const group of groups) {
      const path = `${parent}/${String(group.name ?? "")}`;
      const roles = [...inherited, ...rolesOf({ realm: group.realmRoles, client: group.clientRoles })];
      groupRoles.set(path, roles);
      visit(arrayOfObjects<GroupSpec>(group.subGroups), path, roles);
    }
  };
  visit(arrayOfObjects<GroupSpec>(spec.groups), "", []);
  const roots: Root[] = [];
  for (const mapper of arrayOfObjects<{
    name?: string;
    identityProviderAlias?: string;
    identityProviderMapper?: string;
    config?: unknown;
  }>(spec.identityProviderMappers)) {
    const alias = String(mapper.identityProviderAlias ?? "");
    const config = objectOf(mapper.config);
    const type = String(mapper.identityProviderMapper ?? "");
    const roles =
      roleMapperTypes.has(type) && typeof config.role === "string" && config.role !== ""
        ? hardcodedRoles(config.role)
        : groupMapperTypes.has(type) && typeof config.group === "string"
          ? (groupRoles.get(config.group) ?? [])
          : [];
    if (roles.length === 0) continue;
    roots.push({
      field: `spec.identityProviderMappers[${alias}/${String(mapper.name ?? "")}]`,
      grantee: `users brokered by identity provider "${alias}"`,
      roles,
    });
  }
  return roots;
}

/**
 * A default group is joined by every new user, who then holds the group's role mappings and its
 * parent groups' (Keycloak's members inherit their ancestors' roles). A path the spec does not
 * define confers nothing here; the sync and the authorization policy refuse it.
 */
function defaultGroupRoots(spec: Record<string, unknown>): Root[] {
  const rolesByPath = new Map<string, RoleName[]>();
  const visit = (groups: GroupSpec[], parent: string, inherited: RoleName[]) => {
    for (const group of groups) {
      const path = `${parent}/${String(group.name ?? "")}`;
      const roles = [...inherited, ...rolesOf({ realm: group.realmRoles, client: group.clientRoles })];
      rolesByPath.set(path, roles);
      visit(arrayOfObjects<GroupSpec>(group.subGroups), path, roles);
    }
  };
  visit(arrayOfObjects<GroupSpec>(spec.groups), "", []);
  const roots: Root[] = [];
  for (const path of arrayOf(spec.defaultGroups)) {
    const roles = rolesByPath.get(path) ?? [];
    if (roles.length > 0)
      roots.push({
        field: `spec.defaultGroups[${path}]`,
        grantee: `every new user (default group ${path})`,
        roles,
      });
  }
  return roots;
}

function rootsOfClient(spec: Record<string, unknown>, clientId: string): Root[] {
  const roots: Root[] = [];
  const sa = objectOf(spec.serviceAccount);
  const saRoles = rolesOf({
    realm: arrayOf(sa.realmRoles),
    client: objectOf(sa.clientRoles) as RoleSetSpec["client"],
  });
  if (saRoles.length > 0)
    roots.push({ field: "spec.serviceAccount", grantee: "the client's service account", roles: saRoles });
  for (const path of arrayOf(sa.groups)) {
    roots.push({
      field: `spec.serviceAccount.groups[${path}]`,
      grantee: `the client's service account (member of group ${path})`,
      roles: [groupNode(path)],
    });
  }
  for (const role of arrayOfObjects<RoleSpec>(spec.roles)) {
    if (typeof role.name !== "string" || role.composites === undefined) continue;
    roots.push({
      field: `spec.roles[${role.name}].composites`,
      grantee: `role ${clientId}/${role.name}`,
      roles: [{ client: clientId, name: role.name }],
      excludeRoot: true,
    });
  }
  for (const mapper of arrayOfObjects<{ name?: string; protocolMapper?: string; config?: unknown }>(
    spec.protocolMappers,
  )) {
    if (!hardcodedRoleMappers.has(mapper.protocolMapper ?? "")) continue;
    const setting = objectOf(mapper.config).role;
    if (typeof setting !== "string" || setting === "") continue;
    roots.push({
      field: `spec.protocolMappers[${String(mapper.name ?? "")}]`,
      grantee:
        mapper.protocolMapper === "saml-hardcode-role-mapper"
          ? "every SAML assertion of the client (hardcoded role)"
          : "every token of the client (hardcoded role)",
      roles: hardcodedRoles(setting),
    });
  }
  return roots;
}

/** `/a/b/c` → `/a`, `/a/b`, `/a/b/c`: a member of a group inherits the roles of its parents. */
export function groupLineage(path: string): string[] {
  const names = path.split("/").filter((n) => n !== "");
  return names.map((_, i) => `/${names.slice(0, i + 1).join("/")}`);
}

/** Every group whose roles a user spec's memberships confer: each listed group and its parents. */
export function userGroupPaths(spec: Record<string, unknown>): string[] {
  return [...new Set(arrayOf(spec.groups).flatMap(groupLineage))].sort();
}

/**
 * A user receives its direct realm and client roles and, through each group it is a member of, the
 * roles of that group and of every parent group — both what the realm spec maps to them and what
 * Keycloak maps now (`liveGroups`), since either may be the one that holds a privileged role.
 */
function rootsOfUser(spec: Record<string, unknown>, realmSpec: unknown, liveGroups: LiveGroup[]): Root[] {
  const username = typeof spec.username === "string" ? spec.username : "";
  const who = `user ${username}`;
  const roots: Root[] = [];
  const realmRoles = rolesOf({ realm: arrayOf(spec.realmRoles) });
  if (realmRoles.length > 0) roots.push({ field: "spec.realmRoles", grantee: who, roles: realmRoles });
  const clientRoles = rolesOf({ client: objectOf(spec.clientRoles) as RoleSetSpec["client"] });
  if (clientRoles.length > 0) roots.push({ field: "spec.clientRoles", grantee: who, roles: clientRoles });
  const declared = groupRolesByPath(objectOf(realmSpec));
  const live = new Map(liveGroups.map((g) => [g.path, g.roles]));
  const memberships = (paths: string[], field: (path: string) => string, kind: string) => {
    for (const path of [...new Set(paths)].sort()) {
      for (const group of groupLineage(path)) {
        const roles = [...(declared.get(group) ?? []), ...(live.get(group) ?? [])];
        if (roles.length === 0) continue;
        const via =
          group === path ? `${kind} ${path}` : `${kind} ${path}, which inherits the roles of ${group}`;
        roots.push({ field: field(path), grantee: `${who} (member of ${via})`, roles });
      }
    }
  };
  memberships(arrayOf(spec.groups), (path) => `spec.groups[${path}]`, "group");
  // Keycloak makes a new user a member of the realm's default groups before any sync runs.
  const defaults = liveGroups.filter((g) => g.isDefault).map((g) => g.path);
  memberships(defaults, () => "spec.username (a new user joins the realm's default groups)", "default group");
  return roots;
}

function rootsOf(input: PolicyInput, liveGroups: LiveGroup[]): Root[] {
  const spec = objectOf(input.resource?.spec);
  if (input.kind === "KeycloakRealm") return rootsOfRealm(spec);
  if (input.kind === "KeycloakClient")
    return [...rootsOfClient(spec, clientIdOf(input)), ...rootsOfLinkedScopes(input)];
  if (input.kind === "KeycloakUser") return rootsOfUser(spec, input.target?.realm?.spec, liveGroups);
  return [];
}

/** Every grant the resource's spec makes, expanded. Instances make none. */
export function privilegeFacts(
  input: PolicyInput,
  live: LiveRole[] = [],
  liveGroups: LiveGroup[] = [],
): PrivilegeFacts {
  const roots = rootsOf(input, liveGroups);
  const graph = desiredGraph(input, live);
  const grants = roots.map(({ field, grantee, roles, excludeRoot }) => {
    const reached = graph.reach(roles);
    return { field, grantee, reaches: excludeRoot ? reached.filter((r) => r.path.length > 1) : reached };
  });
  return { realm: realmNameOf(input), grants };
}

/**
 * The roles whose live composites the closure still needs: every role the grants reach whose
 * composites the spec does not manage, minus those already read.
 */
export function rolesToRead(
  input: PolicyInput,
  live: LiveRole[],
  alreadyRead: ReadonlySet<string>,
): RoleName[] {
  const specGraph = desiredGraph(input, []);
  const graph = desiredGraph(input, live);
  const seen = new Map<string, RoleName>();
  for (const root of rootsOf(input, input.keycloakGroups ?? [])) {
    // Groups too: their role mappings in Keycloak are read like a role's composites.
    for (const r of graph.reachNodes(root.roles)) {
      const node: RoleName = r.group
        ? groupNode(r.name)
        : r.client === undefined
          ? { name: r.name }
          : { client: r.client, name: r.name };
      const key = roleKeyOf(node);
      if (!alreadyRead.has(key) && !specGraph.isDesired(node)) seen.set(key, node);
    }
  }
  return [...seen.values()];
}
