// Effective privilege: what each grant a spec makes confers once composite roles are expanded.
//
// A role granted to a service account, a group or the realm's default roles confers that role and,
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
  const defaults = rolesOf(spec.defaultRoles as RoleSetSpec | undefined);
  if (defaults.length > 0)
    roots.push({
      field: "spec.defaultRoles",
      grantee: "every user (the realm's default roles)",
      roles: defaults,
    });
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

function rootsOf(input: PolicyInput): Root[] {
  const spec = objectOf(input.resource?.spec);
  if (input.kind === "KeycloakRealm") return rootsOfRealm(spec);
  if (input.kind === "KeycloakClient") return rootsOfClient(spec, clientIdOf(input));
  return [];
}

/** Every grant the resource's spec makes, expanded. Instances make none. */
export function privilegeFacts(input: PolicyInput, live: LiveRole[] = []): PrivilegeFacts {
  const roots = rootsOf(input);
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
  for (const root of rootsOf(input)) {
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
