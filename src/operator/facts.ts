// Facts gathered from the informer caches before a machine runs, so that the policy guards are
// synchronous and pure: the policy input document and whether a dependency is Ready.
import type { V1Namespace } from "@kubernetes/client-node";
import type { KeycloakClient, KeycloakInstance, KeycloakRealm, KeycloakResource } from "../api/index.js";
import { instanceRefOf, realmRefOf } from "../api/refs.js";
import type { Informer } from "../kube/informers.js";
import type { DependencyFacts } from "../lifecycle/types.js";
import type { NamespaceFacts, Operation, PolicyInput } from "../policy/decision.js";

export interface Caches {
  instances: Informer<KeycloakInstance>;
  realms: Informer<KeycloakRealm>;
  clients: Informer<KeycloakClient>;
  namespaces: Informer<V1Namespace>;
}

export function namespaceFacts(caches: Caches, name: string): NamespaceFacts {
  const ns = caches.namespaces.get(undefined, name);
  return { name, labels: ns?.metadata?.labels ?? {}, annotations: ns?.metadata?.annotations ?? {} };
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
function createdBefore(a: KeycloakResource, b: KeycloakResource): boolean {
  const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
  return ta !== tb ? ta < tb : (a.metadata.name ?? "") < (b.metadata.name ?? "");
}

/** Was the resource ever admitted and provisioned? Then quotas treat it as an update. */
function operationOf(obj: KeycloakResource): Operation {
  const status = obj.status as
    { phase?: string; conditions?: Array<{ type: string; status: string }> } | undefined;
  const wasReady = status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  return wasReady || status?.phase === "Ready" || status?.phase === "Degraded" ? "update" : "create";
}

export function realmPolicyInput(caches: Caches, realm: KeycloakRealm): PolicyInput {
  const namespace = realm.metadata.namespace ?? "";
  const ref = instanceRefOf(realm);
  const instance = caches.instances.get(ref.namespace, ref.name);
  const target = asTarget(instance);
  return {
    operation: operationOf(realm),
    kind: "KeycloakRealm",
    resource: asPolicyResource(realm),
    namespace: namespaceFacts(caches, namespace),
    target: target ? { instance: target } : {},
    counts: {
      realmsInNamespace: caches.realms.list(namespace).filter((r) => createdBefore(r, realm)).length,
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
    const role = mapper.protocolMapper === "oidc-hardcoded-role-mapper" ? mapper.config?.role : undefined;
    const dot = role?.lastIndexOf(".") ?? -1;
    if (role !== undefined && dot > 0) ids.add(role.slice(0, dot));
  }
  ids.delete(spec.clientId);
  return ids;
}

/** Other KeycloakClients of the same realm whose roles this client's spec names: owner and roleGrants. */
function namedClientOwners(caches: Caches, client: KeycloakClient): PolicyInput["target"]["clients"] {
  const ids = namedClientIds(client.spec);
  if (ids.size === 0) return undefined;
  const ref = realmRefOf(client);
  const owners = caches.clients
    .list()
    .filter((c) => {
      const r = realmRefOf(c);
      return r.namespace === ref.namespace && r.name === ref.name && ids.has(c.spec.clientId) && c !== client;
    })
    .map((c) => ({
      clientId: c.spec.clientId,
      metadata: { name: c.metadata.name ?? "", namespace: c.metadata.namespace ?? "" },
      spec: { roleGrants: c.spec.roleGrants ?? {} },
    }));
  return owners.length > 0 ? owners : undefined;
}

export function clientPolicyInput(caches: Caches, client: KeycloakClient): PolicyInput {
  const namespace = client.metadata.namespace ?? "";
  const ref = realmRefOf(client);
  const realm = caches.realms.get(ref.namespace, ref.name);
  const instance = realm
    ? caches.instances.get(instanceRefOf(realm).namespace, instanceRefOf(realm).name)
    : undefined;
  const inRealm = (c: KeycloakClient) => {
    const r = realmRefOf(c);
    return r.namespace === ref.namespace && r.name === ref.name;
  };
  const target: PolicyInput["target"] = {};
  const realmTarget = asTarget(realm);
  const instanceTarget = asTarget(instance);
  if (realmTarget) target.realm = realmTarget;
  if (instanceTarget) target.instance = instanceTarget;
  const clients = namedClientOwners(caches, client);
  if (clients) target.clients = clients;
  return {
    operation: operationOf(client),
    kind: "KeycloakClient",
    resource: asPolicyResource(client),
    namespace: namespaceFacts(caches, namespace),
    target,
    counts: {
      clientsInNamespace: caches.clients.list(namespace).filter((c) => createdBefore(c, client)).length,
      clientsInRealm: caches.clients.list().filter((c) => inRealm(c) && createdBefore(c, client)).length,
    },
    environment: {},
  };
}

export function instancePolicyInput(caches: Caches, instance: KeycloakInstance): PolicyInput {
  return {
    operation: operationOf(instance),
    kind: "KeycloakInstance",
    resource: asPolicyResource(instance),
    namespace: namespaceFacts(caches, instance.metadata.namespace ?? ""),
    target: {},
    counts: {},
    environment: {},
  };
}

function readiness(kind: string, key: string, obj: KeycloakResource | undefined): DependencyFacts {
  if (!obj) {
    return {
      ready: false,
      reason: `${kind}NotFound`,
      message: `${kind} ${key} does not exist; create it or fix the reference`,
    };
  }
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  // Degraded counts as usable: the dependency worked and hit a transient error, so the dependent
  // tries too and backs off on its own (Degraded), instead of dropping back to Pending.
  if ((phase !== "Ready" && phase !== "Degraded") || obj.metadata.deletionTimestamp) {
    return {
      ready: false,
      reason: `${kind}NotReady`,
      message: `${kind} ${key} is ${obj.metadata.deletionTimestamp ? "being deleted" : (phase ?? "not reconciled yet")}; waiting for it to be Ready`,
    };
  }
  return { ready: true };
}

export function realmDependency(caches: Caches, realm: KeycloakRealm): DependencyFacts {
  const ref = instanceRefOf(realm);
  return readiness(
    "KeycloakInstance",
    `${ref.namespace}/${ref.name}`,
    caches.instances.get(ref.namespace, ref.name),
  );
}

export function clientDependency(caches: Caches, client: KeycloakClient): DependencyFacts {
  const ref = realmRefOf(client);
  return readiness(
    "KeycloakRealm",
    `${ref.namespace}/${ref.name}`,
    caches.realms.get(ref.namespace, ref.name),
  );
}
