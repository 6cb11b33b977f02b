// The realm's named collections in an export → spec.roles, spec.defaultRoles, spec.groups,
// spec.defaultGroups, spec.clientScopes and the default/optional scope links. Keycloak's own objects
// (its roles, the default client scopes) are left out while unchanged; a changed one is reported,
// because the operator never changes them. The default role and the scope links are lists the
// operator adds to and never takes Keycloak's own entries from, so the spec lists what was added
// and a removal is reported.
import type { RealmClientScope, RealmGroup, RealmRole, RoleComposites } from "../api/index.js";
import { realmCoverage } from "../resources/coverage.js";
import { clientScopeAttributeKeys } from "../resources/clientScopeRepresentation.js";
import { groupPaths } from "../keycloak/groupPaths.js";
import { isBuiltinRealmRole } from "../keycloak/realmSync.js";
import {
  isRecord,
  records,
  recordOf,
  sameMembers,
  sameValue,
  str,
  strings,
  withoutOperatorAttributes,
  type ExportContext,
} from "./exportContext.js";
import { childPath, itemPath } from "./report.js";

export const collectionFields = [
  "roles",
  "defaultRole",
  "groups",
  "defaultGroups",
  "clientScopes",
  "scopeMappings",
  "clientScopeMappings",
  "defaultDefaultClientScopes",
  "defaultOptionalClientScopes",
];

/** Groups the CRD can hold: three levels (the schema cannot recurse). */
const groupDepth = 3;

type ClientRoleMap = Record<string, string[]>;

/** Realm role names and client role names by client ID, leaving out the empty parts. */
function composites(realm: readonly string[], client: ClientRoleMap): RoleComposites | undefined {
  const clients = Object.fromEntries(Object.entries(client).filter(([, names]) => names.length > 0));
  const result: RoleComposites = {
    ...(realm.length > 0 ? { realm: [...realm] } : {}),
    ...(Object.keys(clients).length > 0 ? { client: clients } : {}),
  };
  return Object.keys(result).length === 0 ? undefined : result;
}

const clientRoleMap = (v: unknown): ClientRoleMap =>
  Object.fromEntries(Object.entries(recordOf(v)).map(([clientId, names]) => [clientId, strings(names)]));

/** Attributes of roles and groups: the operator's markers only, or reported (the CRD has none). */
function reportAttributes(ctx: ExportContext, path: string, attributes: unknown, what: string): void {
  for (const key of Object.keys(withoutOperatorAttributes(recordOf(attributes))))
    ctx.report.notExpressed(
      childPath(childPath(path, "attributes"), key),
      `${what} have no attributes in the CRD`,
    );
}

function rolesSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const realm = str(ctx.rep.realm) ?? "";
  const defaultRoles = new Map(records(recordOf(ctx.defaults.roles).realm).map((r) => [str(r.name), r]));
  const roles: RealmRole[] = [];
  for (const role of records(recordOf(ctx.rep.roles).realm)) {
    const name = str(role.name) ?? "";
    const path = itemPath("$.roles", "realm", "name", name);
    const builtin = defaultRoles.get(name);
    if (builtin !== undefined || isBuiltinRealmRole(name, realm)) {
      builtinRole(ctx, path, role, builtin, name === `default-roles-${realm}`, body);
      continue;
    }
    const description = str(role.description);
    const roleComposites = composites(
      strings(recordOf(role.composites).realm),
      clientRoleMap(recordOf(role.composites).client),
    );
    reportAttributes(ctx, path, role.attributes, "realm roles");
    roles.push({
      name,
      ...(description ? { description } : {}),
      ...(roleComposites ? { composites: roleComposites } : {}),
    });
  }
  if (roles.length > 0) body.roles = roles;
}

/**
 * One of Keycloak's roles. The default role's composites beyond Keycloak's own are spec.defaultRoles;
 * anything else changed in them is reported.
 */
function builtinRole(
  ctx: ExportContext,
  path: string,
  role: Record<string, unknown>,
  builtin: Record<string, unknown> | undefined,
  isDefaultRole: boolean,
  body: Record<string, unknown>,
): void {
  const strip = (r: Record<string, unknown> | undefined) => {
    const { id: _id, containerId: _c, composites: _x, composite: _y, attributes, ...rest } = r ?? {};
    return { ...rest, attributes: withoutOperatorAttributes(recordOf(attributes)) };
  };
  if (builtin === undefined) {
    ctx.report.notExpressed(path, "one of Keycloak's own roles, which the operator never changes");
    return;
  }
  if (!sameValue(strip(role), strip(builtin)))
    ctx.report.notExpressed(
      path,
      "one of Keycloak's own roles, changed here; the operator never changes them",
    );
  const have = recordOf(role.composites);
  const base = recordOf(builtin.composites);
  const addedRealm = strings(have.realm).filter((n) => !strings(base.realm).includes(n));
  const haveClient = clientRoleMap(have.client);
  const baseClient = clientRoleMap(base.client);
  const addedClient = Object.fromEntries(
    Object.entries(haveClient).map(([c, names]) => [
      c,
      names.filter((n) => !(baseClient[c] ?? []).includes(n)),
    ]),
  );
  const removed = [
    ...strings(base.realm).filter((n) => !strings(have.realm).includes(n)),
    ...Object.entries(baseClient).flatMap(([c, names]) =>
      names.filter((n) => !(haveClient[c] ?? []).includes(n)).map((n) => `${c}/${n}`),
    ),
  ];
  if (removed.length > 0)
    ctx.report.notExpressed(
      childPath(path, "composites"),
      `Keycloak's own composites are missing (${removed.join(", ")}); the CRD adds composites to this role, it does not remove Keycloak's`,
    );
  const added = composites(addedRealm, addedClient);
  if (added === undefined) return;
  if (isDefaultRole) body.defaultRoles = added;
  else
    ctx.report.notExpressed(
      childPath(path, "composites"),
      "one of Keycloak's own roles; the CRD adds composites to the default role only",
    );
}

function groupSpec(
  ctx: ExportContext,
  group: Record<string, unknown>,
  path: string,
  depth: number,
): RealmGroup {
  const name = str(group.name) ?? "";
  reportAttributes(ctx, path, group.attributes, "groups");
  const realmRoles = strings(group.realmRoles);
  const clientRoles = Object.fromEntries(
    Object.entries(clientRoleMap(group.clientRoles)).filter(([, names]) => names.length > 0),
  );
  const children = records(group.subGroups);
  const subGroups: RealmGroup[] = [];
  for (const child of children) {
    const at = itemPath(path, "subGroups", "name", str(child.name) ?? "");
    if (depth >= groupDepth) {
      ctx.report.notExpressed(at, `spec.groups nests ${groupDepth} levels deep, and this group is deeper`);
      continue;
    }
    subGroups.push(groupSpec(ctx, child, at, depth + 1));
  }
  return {
    name,
    ...(realmRoles.length > 0 ? { realmRoles } : {}),
    ...(Object.keys(clientRoles).length > 0 ? { clientRoles } : {}),
    ...(subGroups.length > 0 ? { subGroups } : {}),
  };
}

function groupsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const groups = records(ctx.rep.groups).map((g) =>
    groupSpec(ctx, g, itemPath("$", "groups", "name", str(g.name) ?? ""), 1),
  );
  if (groups.length > 0) body.groups = groups;
  // The operator links only groups the same spec defines: a default group left out above cannot be.
  const known = new Set(groupPaths(groups));
  const defaultGroups: string[] = [];
  for (const path of strings(ctx.rep.defaultGroups)) {
    if (known.has(path)) defaultGroups.push(path);
    else
      ctx.report.notExpressed(
        `$.defaultGroups[?(@=='${path}')]`,
        "spec.defaultGroups names groups of spec.groups, and this group is not one",
      );
  }
  if (defaultGroups.length > 0) body.defaultGroups = defaultGroups;
}

/** The role scope mappings of each client scope: realm roles and client roles by client ID. */
interface ScopeMappings {
  realm: Map<string, string[]>;
  client: Map<string, ClientRoleMap>;
}

function scopeMappingsOf(ctx: ExportContext, rep: Record<string, unknown>, report: boolean): ScopeMappings {
  const realm = new Map<string, string[]>();
  const client = new Map<string, ClientRoleMap>();
  const defaults = recordOf(ctx.defaults);
  const reason = realmCoverage.clientScopeMappings?.reason ?? "client scope mappings are not managed";
  records(rep.scopeMappings).forEach((m) => {
    const scope = str(m.clientScope);
    if (scope !== undefined) realm.set(scope, [...(realm.get(scope) ?? []), ...strings(m.roles)]);
    else if (report && !records(defaults.scopeMappings).some((d) => sameValue(d, m)))
      ctx.report.notExpressed(itemPath("$", "scopeMappings", "client", str(m.client) ?? ""), reason);
  });
  for (const [clientId, list] of Object.entries(recordOf(rep.clientScopeMappings))) {
    const base = records(recordOf(defaults.clientScopeMappings)[clientId]);
    for (const m of records(list)) {
      const scope = str(m.clientScope);
      if (scope !== undefined) {
        const byClient = client.get(scope) ?? {};
        byClient[clientId] = [...(byClient[clientId] ?? []), ...strings(m.roles)];
        client.set(scope, byClient);
      } else if (report && !base.some((d) => sameValue(d, m)))
        ctx.report.notExpressed(
          itemPath("$.clientScopeMappings", clientId, "client", str(m.client) ?? ""),
          reason,
        );
    }
  }
  return { realm, client };
}

const typedScopeAttributes = new Set<string>(Object.values(clientScopeAttributeKeys));

function clientScopeSpec(
  ctx: ExportContext,
  scope: Record<string, unknown>,
  path: string,
  mappings: ScopeMappings,
): RealmClientScope {
  const name = str(scope.name) ?? "";
  const protocol = str(scope.protocol) ?? "openid-connect";
  const attributes = withoutOperatorAttributes(recordOf(scope.attributes));
  const bool = (key: string) => (attributes[key] === undefined ? undefined : attributes[key] === "true");
  const guiOrder = str(attributes[clientScopeAttributeKeys.guiOrder]);
  const own = Object.fromEntries(
    Object.entries(attributes).filter(([k, v]) => !typedScopeAttributes.has(k) && typeof v === "string"),
  ) as Record<string, string>;
  const mappers = records(scope.protocolMappers).map((m) => {
    const mapperName = str(m.name) ?? "";
    const mapperPath = itemPath(path, "protocolMappers", "name", mapperName);
    if (m.consentRequired === true)
      ctx.report.notExpressed(
        childPath(mapperPath, "consentRequired"),
        "a client scope's mappers have no consent setting in the CRD",
      );
    if (str(m.protocol) !== undefined && m.protocol !== protocol)
      ctx.report.notExpressed(
        childPath(mapperPath, "protocol"),
        "a client scope's mappers take the scope's protocol",
      );
    const config = Object.fromEntries(Object.entries(recordOf(m.config)).map(([k, v]) => [k, String(v)]));
    return {
      name: mapperName,
      protocolMapper: str(m.protocolMapper) ?? "",
      ...(Object.keys(config).length > 0 ? { config } : {}),
    };
  });
  const realmRoles = mappings.realm.get(name) ?? [];
  const clientRoles = mappings.client.get(name) ?? {};
  const description = str(scope.description);
  const spec: RealmClientScope = {
    name,
    ...(description ? { description } : {}),
    ...(protocol !== "openid-connect" ? { protocol: protocol as RealmClientScope["protocol"] } : {}),
    ...(bool(clientScopeAttributeKeys.includeInTokenScope) !== undefined
      ? { includeInTokenScope: bool(clientScopeAttributeKeys.includeInTokenScope) }
      : {}),
    ...(bool(clientScopeAttributeKeys.displayOnConsentScreen) !== undefined
      ? { displayOnConsentScreen: bool(clientScopeAttributeKeys.displayOnConsentScreen) }
      : {}),
    ...(str(attributes[clientScopeAttributeKeys.consentScreenText]) !== undefined
      ? { consentScreenText: str(attributes[clientScopeAttributeKeys.consentScreenText]) }
      : {}),
    ...(guiOrder !== undefined && /^-?\d+$/.test(guiOrder) ? { guiOrder: Number(guiOrder) } : {}),
    ...(Object.keys(own).length > 0 ? { attributes: own } : {}),
    ...(mappers.length > 0 ? { protocolMappers: mappers } : {}),
  };
  if (guiOrder !== undefined && !/^-?\d+$/.test(guiOrder))
    ctx.report.notExpressed(
      childPath(childPath(path, "attributes"), clientScopeAttributeKeys.guiOrder),
      "spec.clientScopes[].guiOrder is a number",
    );
  const scopeMappings = composites(realmRoles, clientRoles);
  if (scopeMappings !== undefined)
    spec.scopeMappings = {
      ...(scopeMappings.realm ? { realmRoles: scopeMappings.realm } : {}),
      ...(scopeMappings.client ? { clientRoles: scopeMappings.client } : {}),
    };
  return spec;
}

function clientScopesSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const builtins = new Map(records(ctx.defaults.clientScopes).map((s) => [str(s.name) ?? "", s]));
  const mappings = scopeMappingsOf(ctx, ctx.rep, true);
  const builtinMappings = scopeMappingsOf(ctx, ctx.defaults, false);
  // A built-in scope compares with its mappers in name order and its role scope mappings beside it.
  const comparable = (scope: Record<string, unknown>, m: ScopeMappings) => {
    const { id: _id, protocolMappers, attributes, ...rest } = scope;
    const name = str(scope.name) ?? "";
    return {
      ...rest,
      attributes: withoutOperatorAttributes(recordOf(attributes)),
      protocolMappers: records(protocolMappers)
        .map(({ id: _m, ...mapper }) => mapper)
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
      realmRoles: [...(m.realm.get(name) ?? [])].sort(),
      clientRoles: m.client.get(name) ?? {},
    };
  };
  const scopes: RealmClientScope[] = [];
  const seen = new Set<string>();
  for (const scope of records(ctx.rep.clientScopes)) {
    const name = str(scope.name) ?? "";
    seen.add(name);
    const path = itemPath("$", "clientScopes", "name", name);
    const builtin = builtins.get(name);
    if (builtin === undefined) {
      scopes.push(clientScopeSpec(ctx, scope, path, mappings));
      continue;
    }
    if (!sameValue(comparable(scope, mappings), comparable(builtin, builtinMappings)))
      ctx.report.notExpressed(
        path,
        "one of Keycloak's built-in client scopes, changed here; the operator manages only the scopes it creates",
      );
  }
  for (const name of builtins.keys())
    if (!seen.has(name))
      ctx.report.notExpressed(
        itemPath("$", "clientScopes", "name", name),
        "one of Keycloak's built-in client scopes, deleted from this realm; the CRD cannot delete one",
      );
  if (scopes.length > 0) body.clientScopes = scopes;

  for (const [field, specField] of [
    ["defaultDefaultClientScopes", "defaultClientScopes"],
    ["defaultOptionalClientScopes", "optionalClientScopes"],
  ] as const) {
    const have = strings(ctx.rep[field]);
    const base = strings(ctx.defaults[field]);
    if (ctx.rep[field] === undefined || sameMembers(have, base)) continue;
    const added = have.filter((n) => !base.includes(n));
    const removed = base.filter((n) => !have.includes(n));
    if (added.length > 0) body[specField] = added;
    if (removed.length > 0)
      ctx.report.notExpressed(
        childPath("$", field),
        `Keycloak's own links are missing (${removed.join(", ")}); spec.${specField} adds links, it does not remove Keycloak's`,
      );
  }
}

export function collectionsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  rolesSpec(ctx, body);
  groupsSpec(ctx, body);
  clientScopesSpec(ctx, body);
  const defaultRole = recordOf(ctx.rep.defaultRole);
  const { id: _id, containerId: _c, ...role } = defaultRole;
  if (isRecord(ctx.rep.defaultRole) && !sameValue(role, ctx.defaults.defaultRole))
    ctx.report.notExpressed("$.defaultRole", "the realm's default role is Keycloak's, and changed here");
}
