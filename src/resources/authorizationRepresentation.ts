// KeycloakClient spec.authorization → the resource server Keycloak should have (Authorization
// Services): its settings, scopes, resources, policies and permissions. Pure: no I/O.
//
// Two forms per policy and permission. `body` is what the typed admin endpoints take
// (`POST /authz/resource-server/policy/role`, `…/permission/scope`); it names roles, groups,
// clients, users, resources, scopes and policies by name, which Keycloak resolves. `facts` is the
// comparable form: the same settings, sorted, as Keycloak's resource-server export
// (`GET /authz/resource-server/settings`) reports them, so a resync of an unchanged world compares
// equal and writes nothing. `exportedFacts` reads that export. Every name a permission or an
// aggregate policy uses must be defined in the same spec: checked here, before the first write.
import type { KeycloakClientSpec } from "../api/index.js";
import { MissingReferenceError } from "../keycloak/errors.js";

export type AuthorizationSpec = NonNullable<KeycloakClientSpec["authorization"]>;
export type PolicySpec = NonNullable<AuthorizationSpec["policies"]>[number];
export type PermissionSpec = NonNullable<AuthorizationSpec["permissions"]>[number];
export type ResourceSpec = NonNullable<AuthorizationSpec["resources"]>[number];
export type ScopeSpec = NonNullable<AuthorizationSpec["scopes"]>[number];

/** The policy types that only check facts about a request. Types that run code (js) are not here. */
export const policyTypes = ["role", "group", "client", "user", "time", "aggregate"] as const;

/** Settings compared as Keycloak reports them: strings and sorted lists only. */
export type Facts = Record<string, string | string[]>;

export interface DesiredPolicy {
  name: string;
  /** The typed endpoint: role, group, …, aggregate, or resource / scope for a permission. */
  type: string;
  permission: boolean;
  body: Record<string, unknown>;
  facts: Facts;
}

export interface DesiredResource {
  name: string;
  displayName?: string;
  type?: string;
  uris?: string[];
  scopes: string[];
  ownerManagedAccess?: boolean;
  attributes: Record<string, string[]>;
}

export interface DesiredAuthorization {
  settings: {
    policyEnforcementMode?: AuthorizationSpec["policyEnforcementMode"];
    decisionStrategy?: AuthorizationSpec["decisionStrategy"];
    allowRemoteResourceManagement?: boolean;
  };
  scopes: ScopeSpec[];
  resources: DesiredResource[];
  /** Policies that check (in any order) — aggregates come separately, after what they combine. */
  policies: DesiredPolicy[];
  aggregates: DesiredPolicy[];
  permissions: DesiredPolicy[];
}

const sorted = (values: readonly string[] | undefined) => [...new Set(values ?? [])].sort();

/** Keycloak's defaults, so that a spec leaving them out compares equal to what Keycloak reports. */
function commonFacts(p: { logic?: string; decisionStrategy?: string; description?: string }): Facts {
  return {
    logic: p.logic ?? "POSITIVE",
    decisionStrategy: p.decisionStrategy ?? "UNANIMOUS",
    ...(p.description === undefined ? {} : { description: p.description }),
  };
}

const timeKeys = [
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

function policyBodyAndFacts(policy: PolicySpec): { body: Record<string, unknown>; facts: Facts } {
  const common = { name: policy.name, logic: policy.logic ?? "POSITIVE", description: policy.description };
  const facts = commonFacts(policy);
  switch (policy.type) {
    case "role": {
      const roles = [...(policy.roles ?? [])].sort((a, b) => a.role.localeCompare(b.role));
      return {
        body: { ...common, roles: roles.map((r) => ({ id: r.role, required: r.required ?? false })) },
        facts: { ...facts, roles: roles.map((r) => `${r.role}${r.required ? " (required)" : ""}`) },
      };
    }
    case "group": {
      const groups = [...(policy.groups ?? [])].sort((a, b) => a.path.localeCompare(b.path));
      return {
        body: {
          ...common,
          groups: groups.map((g) => ({ path: g.path, extendChildren: g.extendChildren ?? false })),
        },
        facts: {
          ...facts,
          groups: groups.map((g) => `${g.path}${g.extendChildren ? " (and subgroups)" : ""}`),
        },
      };
    }
    case "client":
      return {
        body: { ...common, clients: sorted(policy.clients) },
        facts: { ...facts, clients: sorted(policy.clients) },
      };
    case "user":
      return {
        body: { ...common, users: sorted(policy.users) },
        facts: { ...facts, users: sorted(policy.users) },
      };
    case "time": {
      const body: Record<string, unknown> = { ...common };
      const timeFacts: Facts = { ...facts };
      for (const [field, key] of timeKeys) {
        const value = policy.time?.[field];
        if (value === undefined) continue;
        body[field] = String(value);
        timeFacts[key] = String(value);
      }
      return { body, facts: timeFacts };
    }
    case "aggregate":
      return {
        body: {
          ...common,
          decisionStrategy: policy.decisionStrategy ?? "UNANIMOUS",
          policies: sorted(policy.policies),
        },
        facts: { ...facts, policies: sorted(policy.policies) },
      };
  }
}

function desiredPolicy(policy: PolicySpec): DesiredPolicy {
  return { name: policy.name, type: policy.type, permission: false, ...policyBodyAndFacts(policy) };
}

function desiredPermission(permission: PermissionSpec): DesiredPolicy {
  const resources = sorted(permission.resources);
  const scopes = sorted(permission.scopes);
  const policies = sorted(permission.policies);
  const facts: Facts = { ...commonFacts(permission), resources, policies };
  if (permission.type === "scope") facts.scopes = scopes;
  if (permission.resourceType !== undefined) facts.resourceType = permission.resourceType;
  return {
    name: permission.name,
    type: permission.type,
    permission: true,
    body: {
      name: permission.name,
      description: permission.description,
      logic: "POSITIVE",
      decisionStrategy: permission.decisionStrategy ?? "UNANIMOUS",
      resources,
      ...(permission.type === "scope" ? { scopes } : {}),
      ...(permission.resourceType === undefined ? {} : { resourceType: permission.resourceType }),
      policies,
    },
    facts,
  };
}

function desiredResource(resource: ResourceSpec): DesiredResource {
  return {
    name: resource.name,
    ...(resource.displayName === undefined ? {} : { displayName: resource.displayName }),
    ...(resource.type === undefined ? {} : { type: resource.type }),
    ...(resource.uris === undefined ? {} : { uris: sorted(resource.uris) }),
    scopes: sorted(resource.scopes),
    ...(resource.ownerManagedAccess === undefined ? {} : { ownerManagedAccess: resource.ownerManagedAccess }),
    attributes: Object.fromEntries(Object.entries(resource.attributes ?? {}).map(([k, v]) => [k, [...v]])),
  };
}

/** Every name a resource, permission or aggregate uses is defined in the spec; aggregates combine only checks. */
function checkReferences(spec: AuthorizationSpec): void {
  const scopes = new Set((spec.scopes ?? []).map((s) => s.name));
  const resources = new Set((spec.resources ?? []).map((r) => r.name));
  const policyType = new Map((spec.policies ?? []).map((p) => [p.name, p.type]));
  const problems: string[] = [];
  const missing = (
    where: string,
    kind: string,
    names: readonly string[] | undefined,
    known: (n: string) => boolean,
  ) => {
    for (const name of names ?? [])
      if (!known(name))
        problems.push(`${where} names ${kind} "${name}", which spec.authorization does not define`);
  };
  for (const r of spec.resources ?? [])
    missing(`resources[${r.name}]`, "scope", r.scopes, (n) => scopes.has(n));
  for (const p of spec.policies ?? []) {
    if (p.type !== "aggregate") continue;
    missing(`policies[${p.name}]`, "policy", p.policies, (n) => policyType.has(n));
    for (const n of p.policies ?? [])
      if (policyType.get(n) === "aggregate")
        problems.push(
          `policies[${p.name}] combines aggregate policy "${n}"; an aggregate may combine only role, group, client, user and time policies`,
        );
  }
  const permissionNames = new Set<string>();
  for (const p of spec.permissions ?? []) {
    if (policyType.has(p.name))
      problems.push(
        `permissions[${p.name}] has the name of a policy; policies and permissions share names in Keycloak`,
      );
    permissionNames.add(p.name);
    missing(`permissions[${p.name}]`, "resource", p.resources, (n) => resources.has(n));
    missing(`permissions[${p.name}]`, "scope", p.scopes, (n) => scopes.has(n));
    missing(`permissions[${p.name}]`, "policy", p.policies, (n) => policyType.has(n));
  }
  if (problems.length > 0)
    throw new MissingReferenceError(
      `spec.authorization: ${problems.join("; ")}. Define each name in spec.authorization, or remove it`,
    );
}

export function desiredAuthorization(spec: AuthorizationSpec): DesiredAuthorization {
  checkReferences(spec);
  const policies = (spec.policies ?? []).map(desiredPolicy);
  return {
    settings: {
      ...(spec.policyEnforcementMode === undefined
        ? {}
        : { policyEnforcementMode: spec.policyEnforcementMode }),
      ...(spec.decisionStrategy === undefined ? {} : { decisionStrategy: spec.decisionStrategy }),
      ...(spec.allowRemoteResourceManagement === undefined
        ? {}
        : { allowRemoteResourceManagement: spec.allowRemoteResourceManagement }),
    },
    scopes: [...(spec.scopes ?? [])],
    resources: (spec.resources ?? []).map(desiredResource),
    policies: policies.filter((p) => p.type !== "aggregate"),
    aggregates: policies.filter((p) => p.type === "aggregate"),
    permissions: (spec.permissions ?? []).map(desiredPermission),
  };
}

/** A policy or permission as Keycloak's resource-server export reports it. */
export interface ExportedPolicy {
  name?: string;
  type?: string;
  description?: string;
  logic?: string;
  decisionStrategy?: string;
  config?: Record<string, unknown>;
}

function jsonList(value: unknown): unknown[] {
  if (typeof value !== "string" || value === "") return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

const names = (value: unknown) => sorted(jsonList(value).filter((v): v is string => typeof v === "string"));

/**
 * The facts of an exported policy, in the shape `desiredAuthorization` computes, restricted to the
 * keys the desired facts have (a description the spec leaves out is not compared).
 */
export function exportedFacts(rep: ExportedPolicy, wanted: Facts): Facts {
  const config = rep.config ?? {};
  const facts: Facts = {
    logic: rep.logic ?? "POSITIVE",
    decisionStrategy: rep.decisionStrategy ?? "UNANIMOUS",
    ...(rep.description === undefined || rep.description === "" ? {} : { description: rep.description }),
  };
  switch (rep.type) {
    case "role":
      facts.roles = jsonList(config.roles)
        .map((r) => r as { id?: string; required?: boolean })
        .map((r) => `${r.id ?? ""}${r.required ? " (required)" : ""}`)
        .sort();
      break;
    case "group":
      facts.groups = jsonList(config.groups)
        .map((g) => g as { path?: string; extendChildren?: boolean })
        .map((g) => `${g.path ?? ""}${g.extendChildren ? " (and subgroups)" : ""}`)
        .sort();
      break;
    case "client":
      facts.clients = names(config.clients);
      break;
    case "user":
      facts.users = names(config.users);
      break;
    case "time":
      for (const [, key] of timeKeys) if (typeof config[key] === "string") facts[key] = config[key];
      break;
    case "aggregate":
      facts.policies = names(config.applyPolicies);
      break;
    case "resource":
    case "scope":
      facts.resources = names(config.resources);
      facts.policies = names(config.applyPolicies);
      if (rep.type === "scope") facts.scopes = names(config.scopes);
      if (typeof config.defaultResourceType === "string" && config.defaultResourceType !== "")
        facts.resourceType = config.defaultResourceType;
      break;
  }
  const out: Facts = {};
  for (const key of new Set([...Object.keys(wanted), ...Object.keys(facts)])) {
    if (key === "description" && !("description" in wanted)) continue;
    const value = facts[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Do two fact sets say the same? (Lists are sorted on both sides.) */
export function sameFacts(a: Facts, b: Facts): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
