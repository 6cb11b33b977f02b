// The one policy-input builder. The operator feeds it from its informer caches right before a
// machine runs; `kpo policy eval` feeds it from the YAML documents on its command line. Both go
// through the same code so that the offline answer is the operator's answer: what differs between
// them is only where the objects come from, which is what `PolicyLookup` abstracts.
import type {
  KeycloakClient,
  KeycloakInstance,
  KeycloakRealm,
  KeycloakResource,
  KeycloakUser,
} from "../api/index.js";
import { instanceRefOf, realmRefOf, type ResolvedRef } from "../api/refs.js";
import { objectKey, sameKey } from "../kube/objectKey.js";
import { phaseHasTag } from "../lifecycle/phases.js";
import { CONDITION } from "../lifecycle/types.js";
import type { CountScope } from "./creationOrder.js";
import type { NamespaceFacts, Operation, PolicyInput } from "./decision.js";
import { hardcodedRoles } from "./privilege.js";

/** Where the builder finds the objects around the resource. */
export interface PolicyLookup {
  instance(ref: ResolvedRef): KeycloakInstance | undefined;
  realm(ref: ResolvedRef): KeycloakRealm | undefined;
  /** Every known realm, or those of one namespace. */
  realms(namespace?: string): readonly KeycloakRealm[];
  /** Every known client, or those of one namespace. */
  clients(namespace?: string): readonly KeycloakClient[];
  /** Every known user, or those of one namespace. */
  users(namespace?: string): readonly KeycloakUser[];
  /** Labels and annotations of a namespace; empty when it is unknown. */
  namespace(name: string): NamespaceFacts;
  /**
   * How many objects of obj's kind in its namespace (or, for a client, its realm) were created
   * before it. Optional: without it the builder filters the lists above (O(N) per decision).
   */
  countCreatedBefore?(obj: KeycloakResource, scope: CountScope): number;
}

/** countCreatedBefore of the lookup, else a scan of `candidates`. */
function countBefore<T extends KeycloakResource>(
  lookup: PolicyLookup,
  obj: T,
  scope: CountScope,
  candidates: () => readonly T[],
): number {
  if (lookup.countCreatedBefore) return lookup.countCreatedBefore(obj, scope);
  return candidates().filter((c) => createdBefore(c, obj)).length;
}

/** The object as policies see it: metadata that matters and the spec, never the status. */
function asPolicyResource(obj: KeycloakResource): PolicyInput["resource"] {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: obj.metadata.name ?? "",
      namespace: obj.metadata.namespace ?? "",
      labels: obj.metadata.labels ?? {},
      annotations: obj.metadata.annotations ?? {},
    },
    spec: obj.spec as Record<string, unknown>,
  };
}

function asTarget(obj: KeycloakResource | undefined) {
  if (!obj) return undefined;
  return {
    metadata: { name: obj.metadata.name ?? "", namespace: obj.metadata.namespace ?? "" },
    spec: obj.spec as Record<string, unknown>,
  };
}

/**
 * Quotas count the objects created before this one (by creation time, then name), so the first N
 * of a namespace are admitted and stay admitted, whatever order the reconciles run in.
 */
export function createdBefore(a: KeycloakResource, b: KeycloakResource): boolean {
  const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
  return ta !== tb ? ta < tb : (a.metadata.name ?? "") < (b.metadata.name ?? "");
}

/** Was the resource ever admitted and provisioned? Then quotas treat it as an update. */
export function operationOf(obj: KeycloakResource): Operation {
  const status = obj.status as
    { phase?: string; conditions?: Array<{ type: string; status: string }> } | undefined;
  const wasReady = status?.conditions?.some((c) => c.type === CONDITION.Ready && c.status === "True");
  return wasReady || phaseHasTag(status?.phase, "countsAsUpdate") ? "update" : "create";
}

export function realmPolicyInput(lookup: PolicyLookup, realm: KeycloakRealm): PolicyInput {
  const namespace = realm.metadata.namespace ?? "";
  const target = asTarget(lookup.instance(instanceRefOf(realm)));
  return {
    operation: operationOf(realm),
    kind: "KeycloakRealm",
    resource: asPolicyResource(realm),
    namespace: lookup.namespace(namespace),
    target: target ? { instance: target } : {},
    counts: {
      realmsInNamespace: countBefore(lookup, realm, "namespace", () => lookup.realms(namespace)),
    },
    environment: {},
  };
}

/**
 * The clientIds whose roles a client's spec names itself: its service account's client roles, its
 * roles' client composites, a hardcoded role mapper's `clientId.role` (both readings, as in
 * src/policy/privilege.ts). Roles reached through the realm's own roles are the realm owner's
 * business; these are the client team's.
 */
export function namedClientIds(spec: KeycloakClient["spec"]): Set<string> {
  const ids = new Set(Object.keys(spec.serviceAccount?.clientRoles ?? {}));
  for (const role of spec.roles ?? [])
    for (const id of Object.keys(role.composites?.client ?? {})) ids.add(id);
  for (const mapper of spec.protocolMappers ?? []) {
    const setting = mapper.protocolMapper === "oidc-hardcoded-role-mapper" ? mapper.config?.role : undefined;
    for (const role of setting ? hardcodedRoles(setting) : [])
      if (role.client !== undefined) ids.add(role.client);
  }
  ids.delete(spec.clientId);
  return ids;
}

/** Other KeycloakClients of the same realm whose roles this client's spec names: owner and roleGrants. */
function namedClientOwners(lookup: PolicyLookup, client: KeycloakClient): PolicyInput["target"]["clients"] {
  const ids = namedClientIds(client.spec);
  if (ids.size === 0) return undefined;
  const ref = realmRefOf(client);
  const owners = lookup
    .clients()
    .filter((c) => sameKey(realmRefOf(c), ref) && ids.has(c.spec.clientId) && c !== client)
    // In key order, so the input does not depend on the order a cache or a file holds them in.
    .sort((a, b) => objectKey(a).localeCompare(objectKey(b)))
    .map((c) => ({
      clientId: c.spec.clientId,
      metadata: { name: c.metadata.name ?? "", namespace: c.metadata.namespace ?? "" },
      spec: { roleGrants: c.spec.roleGrants ?? {} },
    }));
  return owners.length > 0 ? owners : undefined;
}

/** The realm a client or user references, and that realm's instance, as far as they exist. */
function realmAndInstance(
  lookup: PolicyLookup,
  ref: Parameters<PolicyLookup["realm"]>[0],
): PolicyInput["target"] {
  const target: PolicyInput["target"] = {};
  const realm = lookup.realm(ref);
  const realmTarget = asTarget(realm);
  const instanceTarget = asTarget(realm ? lookup.instance(instanceRefOf(realm)) : undefined);
  if (realmTarget) target.realm = realmTarget;
  if (instanceTarget) target.instance = instanceTarget;
  return target;
}

export function clientPolicyInput(lookup: PolicyLookup, client: KeycloakClient): PolicyInput {
  const namespace = client.metadata.namespace ?? "";
  const ref = realmRefOf(client);
  const target = realmAndInstance(lookup, ref);
  const clients = namedClientOwners(lookup, client);
  if (clients) target.clients = clients;
  return {
    operation: operationOf(client),
    kind: "KeycloakClient",
    resource: asPolicyResource(client),
    namespace: lookup.namespace(namespace),
    target,
    counts: {
      clientsInNamespace: countBefore(lookup, client, "namespace", () => lookup.clients(namespace)),
      clientsInRealm: countBefore(lookup, client, "realm", () =>
        lookup.clients().filter((c) => sameKey(realmRefOf(c), ref)),
      ),
    },
    environment: {},
  };
}

/**
 * A user is decided on its realm's spec.userGrants and on what its roles and groups confer (the
 * realm spec says what roles its groups map; src/policy/privilege.ts rootsOfUser).
 */
export function userPolicyInput(lookup: PolicyLookup, user: KeycloakUser): PolicyInput {
  const namespace = user.metadata.namespace ?? "";
  const ref = realmRefOf(user);
  const target = realmAndInstance(lookup, ref);
  return {
    operation: operationOf(user),
    kind: "KeycloakUser",
    resource: asPolicyResource(user),
    namespace: lookup.namespace(namespace),
    target,
    counts: {
      usersInNamespace: countBefore(lookup, user, "namespace", () => lookup.users(namespace)),
    },
    environment: {},
  };
}

export function instancePolicyInput(lookup: PolicyLookup, instance: KeycloakInstance): PolicyInput {
  return {
    operation: operationOf(instance),
    kind: "KeycloakInstance",
    resource: asPolicyResource(instance),
    namespace: lookup.namespace(instance.metadata.namespace ?? ""),
    target: {},
    counts: {},
    environment: {},
  };
}

/** The input for any of the kinds. */
export function policyInputFor(lookup: PolicyLookup, obj: KeycloakResource): PolicyInput {
  switch (obj.kind) {
    case "KeycloakInstance":
      return instancePolicyInput(lookup, obj);
    case "KeycloakRealm":
      return realmPolicyInput(lookup, obj);
    case "KeycloakClient":
      return clientPolicyInput(lookup, obj);
    case "KeycloakUser":
      return userPolicyInput(lookup, obj);
  }
}
