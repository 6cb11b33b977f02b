// A client's resource server as Keycloak exports it (`authorizationSettings` of a realm export, or
// `GET …/authz/resource-server/settings`) → spec.authorization, the inverse of desiredAuthorization
// (src/resources/authorizationRepresentation.ts). Pure: no I/O. The export names roles, groups,
// clients, users, resources, scopes and policies by name, as the spec does. Policies and
// permissions share one list there; permissions are the types resource and scope. Keycloak's
// policy defaults (POSITIVE, UNANIMOUS, not required, no subgroups) are left out; the settings'
// allowRemoteResourceManagement is always written, since Keycloak's value for a new resource server
// is not among the captured defaults and spec.authorization replaces the whole resource server.
import type {
  AuthorizationSpec,
  PermissionSpec,
  PolicySpec,
  ResourceSpec,
  ScopeSpec,
} from "../resources/authorizationRepresentation.js";
import { policyTypes } from "../resources/authorizationRepresentation.js";
import type { Representation } from "./defaults.js";
import { childPath, itemPath, type ExportReport } from "./report.js";

const decisionStrategies = ["UNANIMOUS", "AFFIRMATIVE", "CONSENSUS"] as const;
const enforcementModes = ["ENFORCING", "PERMISSIVE", "DISABLED"] as const;
type DecisionStrategy = (typeof decisionStrategies)[number];

const isOperatorKey = (key: string) => key.startsWith("kpo.dev/");

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const list = (v: unknown): Representation[] =>
  Array.isArray(v) ? v.filter((x): x is Representation => typeof x === "object" && x !== null) : [];

function jsonList(value: unknown): unknown[] | undefined {
  if (typeof value !== "string" || value === "") return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function names(value: unknown): string[] | undefined {
  const parsed = jsonList(value);
  return parsed?.every((v) => typeof v === "string") ? parsed : undefined;
}

/** Keys a resource, scope or policy representation carries that the spec has no use for. */
const ignoredKeys = new Set(["id", "_id", "resourceServer"]);

export function authorizationSpecFromSettings(
  settings: Representation,
  clientId: string,
  path: string,
  report: ExportReport,
): AuthorizationSpec {
  const spec: AuthorizationSpec = {};
  const mode = settings.policyEnforcementMode;
  if (typeof mode === "string" && mode !== "ENFORCING") {
    if ((enforcementModes as readonly string[]).includes(mode))
      spec.policyEnforcementMode = mode as AuthorizationSpec["policyEnforcementMode"];
    else
      report.notExpressed(
        childPath(path, "policyEnforcementMode"),
        `"${mode}" is not an enforcement mode the CRD accepts`,
      );
  }
  const strategy = settings.decisionStrategy;
  if (typeof strategy === "string" && strategy !== "UNANIMOUS") {
    if ((decisionStrategies as readonly string[]).includes(strategy))
      spec.decisionStrategy = strategy as DecisionStrategy;
    else
      report.notExpressed(
        childPath(path, "decisionStrategy"),
        `"${strategy}" is not a decision strategy the CRD accepts`,
      );
  }
  spec.allowRemoteResourceManagement = settings.allowRemoteResourceManagement === true;

  const scopes = list(settings.scopes).map((s) => scopeSpec(s, path, report));
  const resources = list(settings.resources).map((r) => resourceSpec(r, clientId, path, report));
  const policies: PolicySpec[] = [];
  const permissions: PermissionSpec[] = [];
  for (const rep of list(settings.policies)) {
    const at = itemPath(path, "policies", "name", String(rep.name));
    if (rep.type === "resource" || rep.type === "scope") {
      const permission = permissionSpec(rep, at, report);
      if (permission) permissions.push(permission);
    } else {
      const policy = policySpec(rep, at, report);
      if (policy) policies.push(policy);
    }
  }
  if (scopes.length > 0) spec.scopes = scopes;
  if (resources.length > 0) spec.resources = resources;
  if (policies.length > 0) spec.policies = policies;
  if (permissions.length > 0) spec.permissions = permissions;

  const known = new Set([
    "policyEnforcementMode",
    "decisionStrategy",
    "allowRemoteResourceManagement",
    "scopes",
    "resources",
    "policies",
    "clientId",
    "name",
    "id",
    // Fine-grained admin permissions flag of the realm's own resource servers; server-set.
    "authorizationSchema",
  ]);
  for (const [key, value] of Object.entries(settings))
    if (!known.has(key) && value !== undefined && value !== null)
      report.notExpressed(
        childPath(path, key),
        "spec.authorization has no field for this resource-server setting",
      );
  return spec;
}

function reportOthers(
  rep: Representation,
  handled: readonly string[],
  at: string,
  report: ExportReport,
  what: string,
) {
  for (const [key, value] of Object.entries(rep)) {
    if (handled.includes(key) || ignoredKeys.has(key) || isEmpty(value)) continue;
    report.notExpressed(childPath(at, key), `spec.authorization has no field for this setting of a ${what}`);
  }
}

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === "" ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function scopeSpec(rep: Representation, path: string, report: ExportReport): ScopeSpec {
  const at = itemPath(path, "scopes", "name", String(rep.name));
  reportOthers(rep, ["name", "displayName", "iconUri"], at, report, "scope");
  return {
    name: String(rep.name),
    ...(str(rep.displayName) ? { displayName: str(rep.displayName) } : {}),
    ...(str(rep.iconUri) ? { iconUri: str(rep.iconUri) } : {}),
  };
}

function resourceSpec(
  rep: Representation,
  clientId: string,
  path: string,
  report: ExportReport,
): ResourceSpec {
  const at = itemPath(path, "resources", "name", String(rep.name));
  const spec: ResourceSpec = { name: String(rep.name) };
  if (str(rep.displayName)) spec.displayName = str(rep.displayName);
  if (str(rep.type)) spec.type = str(rep.type);
  const uris = Array.isArray(rep.uris) ? rep.uris.map(String) : [];
  if (uris.length > 0) spec.uris = uris;
  const scopes = list(rep.scopes).map((s) => String(s.name));
  if (scopes.length > 0) spec.scopes = scopes;
  if (rep.ownerManagedAccess === true) spec.ownerManagedAccess = true;
  const attributes: Record<string, string[]> = {};
  for (const [key, value] of Object.entries((rep.attributes ?? {}) as Record<string, unknown>)) {
    // The operator's marker on the resources it made: the resource that applies this spec writes its own.
    if (isOperatorKey(key)) continue;
    attributes[key] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  if (Object.keys(attributes).length > 0) spec.attributes = attributes;
  // A resource belongs to its resource server unless a user owns it (UMA); the export names the owner.
  const owner = rep.owner as { name?: unknown; id?: unknown } | string | undefined;
  const ownerName = typeof owner === "string" ? owner : owner?.name;
  if (ownerName !== undefined && ownerName !== clientId)
    report.notExpressed(
      childPath(at, "owner"),
      "a resource owned by a user (UMA); spec.authorization resources belong to the resource server",
    );
  reportOthers(
    rep,
    ["name", "displayName", "type", "uris", "scopes", "ownerManagedAccess", "attributes", "owner"],
    at,
    report,
    "resource",
  );
  return spec;
}

function commonPolicyFields(rep: Representation): { description?: string } {
  return str(rep.description) ? { description: str(rep.description) } : {};
}

/** The decision strategy, left out when Keycloak's default; undefined when the CRD has no value for it. */
function strategyOf(rep: Representation): DecisionStrategy | undefined | null {
  const s = rep.decisionStrategy;
  if (s === undefined || s === "UNANIMOUS") return undefined;
  return typeof s === "string" && (decisionStrategies as readonly string[]).includes(s)
    ? (s as DecisionStrategy)
    : null;
}

function policySpec(rep: Representation, at: string, report: ExportReport): PolicySpec | undefined {
  const type = String(rep.type);
  if (!(policyTypes as readonly string[]).includes(type)) {
    report.notExpressed(
      at,
      `a policy of type ${type}; spec.authorization offers role, group, client, user, time and aggregate policies`,
    );
    return undefined;
  }
  const config = (rep.config ?? {}) as Record<string, unknown>;
  const configAt = childPath(at, "config");
  const policy = { name: String(rep.name), type, ...commonPolicyFields(rep) } as PolicySpec;
  if (rep.logic === "NEGATIVE") policy.logic = "NEGATIVE";
  const strategy = strategyOf(rep);
  if (strategy === null || (strategy !== undefined && type !== "aggregate"))
    report.notExpressed(
      childPath(at, "decisionStrategy"),
      "only aggregate policies carry a decision strategy in spec.authorization, and only UNANIMOUS, AFFIRMATIVE or CONSENSUS",
    );
  else if (strategy !== undefined) policy.decisionStrategy = strategy;
  const handled = new Set<string>();
  const unreadable = (key: string) =>
    report.notExpressed(
      childPath(configAt, key),
      `the ${type} policy's ${key} could not be read (not the JSON list Keycloak writes)`,
    );
  switch (type) {
    case "role": {
      handled.add("roles").add("fetchRoles");
      const roles = jsonList(config.roles);
      if (roles === undefined) unreadable("roles");
      policy.roles = (roles ?? [])
        .map((r) => r as { id?: unknown; required?: unknown })
        .map((r) => ({
          role: String(r.id),
          ...(r.required === true ? { required: true } : {}),
        }));
      if (config.fetchRoles !== undefined && config.fetchRoles !== "false")
        report.notExpressed(
          childPath(configAt, "fetchRoles"),
          "spec.authorization has no field for fetchRoles",
        );
      break;
    }
    case "group": {
      handled.add("groups").add("groupsClaim");
      const groups = jsonList(config.groups);
      if (groups === undefined) unreadable("groups");
      policy.groups = (groups ?? [])
        .map((g) => g as { path?: unknown; extendChildren?: unknown })
        .map((g) => ({
          path: String(g.path),
          ...(g.extendChildren === true ? { extendChildren: true } : {}),
        }));
      if (str(config.groupsClaim))
        report.notExpressed(
          childPath(configAt, "groupsClaim"),
          "spec.authorization has no field for groupsClaim",
        );
      break;
    }
    case "client":
    case "user": {
      const key = type === "client" ? "clients" : "users";
      handled.add(key);
      const values = names(config[key]);
      if (values === undefined) unreadable(key);
      policy[key] = values ?? [];
      break;
    }
    case "time": {
      const time: Record<string, string | number> = {};
      const keys = [
        ["notBefore", "nbf"],
        ["notOnOrAfter", "noa"],
        ["dayMonth", "dayMonth"],
        ["dayMonthEnd", "dayMonthEnd"],
        ["month", "month"],
        ["monthEnd", "monthEnd"],
        ["hour", "hour"],
        ["hourEnd", "hourEnd"],
        ["minute", "minute"],
        ["minuteEnd", "minuteEnd"],
      ] as const;
      for (const [field, key] of keys) {
        handled.add(key);
        const value = config[key];
        if (typeof value !== "string" || value === "") continue;
        if (field === "notBefore" || field === "notOnOrAfter") time[field] = value;
        else if (/^\d+$/.test(value)) time[field] = Number(value);
        else report.notExpressed(childPath(configAt, key), `"${value}" is not a number`);
      }
      policy.time = time;
      break;
    }
    case "aggregate": {
      handled.add("applyPolicies");
      const values = names(config.applyPolicies);
      if (values === undefined) unreadable("applyPolicies");
      policy.policies = values ?? [];
      break;
    }
  }
  for (const [key, value] of Object.entries(config))
    if (!handled.has(key) && !isEmpty(value))
      report.notExpressed(
        childPath(configAt, key),
        `spec.authorization has no field for this setting of a ${type} policy`,
      );
  reportOthers(
    rep,
    ["name", "type", "description", "logic", "decisionStrategy", "config"],
    at,
    report,
    "policy",
  );
  return policy;
}

function permissionSpec(rep: Representation, at: string, report: ExportReport): PermissionSpec | undefined {
  const type = rep.type as PermissionSpec["type"];
  const config = (rep.config ?? {}) as Record<string, unknown>;
  const configAt = childPath(at, "config");
  const permission: PermissionSpec = {
    name: String(rep.name),
    type,
    ...commonPolicyFields(rep),
    policies: [],
  };
  if (rep.logic === "NEGATIVE")
    report.notExpressed(
      childPath(at, "logic"),
      "a permission's logic is always POSITIVE in spec.authorization",
    );
  const strategy = strategyOf(rep);
  if (strategy === null)
    report.notExpressed(childPath(at, "decisionStrategy"), "not a decision strategy the CRD accepts");
  else if (strategy !== undefined) permission.decisionStrategy = strategy;
  const read = (key: string) => {
    const values = names(config[key]);
    if (values === undefined)
      report.notExpressed(
        childPath(configAt, key),
        `the permission's ${key} could not be read (not the JSON list Keycloak writes)`,
      );
    return values ?? [];
  };
  const resources = read("resources");
  if (resources.length > 0) permission.resources = resources;
  if (type === "scope") permission.scopes = read("scopes");
  permission.policies = read("applyPolicies");
  const resourceType = str(config.defaultResourceType);
  if (resourceType) permission.resourceType = resourceType;
  const handled = new Set(["resources", "applyPolicies", "defaultResourceType"]);
  if (type === "scope") handled.add("scopes");
  for (const [key, value] of Object.entries(config))
    if (!handled.has(key) && !isEmpty(value))
      report.notExpressed(
        childPath(configAt, key),
        "spec.authorization has no field for this setting of a permission",
      );
  reportOthers(
    rep,
    ["name", "type", "description", "logic", "decisionStrategy", "config"],
    at,
    report,
    "permission",
  );
  return permission;
}
