// Facts gathered from the informer caches before a machine runs, so that the policy guards are
// synchronous and pure: the policy input document (built by src/policy/input.ts, the same builder
// `kpo policy eval` uses, over these caches) and whether a dependency is Ready.
import type { V1Namespace } from "@kubernetes/client-node";
import type {
  KeycloakClient,
  KeycloakInstance,
  KeycloakRealm,
  KeycloakResource,
  KeycloakUser,
} from "../api/index.js";
import { instanceRefOf, realmRefOf } from "../api/refs.js";
import type { Informer } from "../kube/informers.js";
import { formatKey } from "../kube/objectKey.js";
import { phaseHasTag } from "../lifecycle/phases.js";
import type { DependencyFacts } from "../lifecycle/types.js";
import type { NamespaceFacts, PolicyInput } from "../policy/decision.js";
import { CreationOrder } from "../policy/creationOrder.js";
import { policyInputFor, type PolicyLookup } from "../policy/input.js";

export { namedClientIds } from "../policy/input.js";

export interface Caches {
  instances: Informer<KeycloakInstance>;
  realms: Informer<KeycloakRealm>;
  clients: Informer<KeycloakClient>;
  users: Informer<KeycloakUser>;
  namespaces: Informer<V1Namespace>;
}

export function namespaceFacts(caches: Caches, name: string): NamespaceFacts {
  const ns = caches.namespaces.get(undefined, name);
  return { name, labels: ns?.metadata?.labels ?? {}, annotations: ns?.metadata?.annotations ?? {} };
}

const creationOrders = new WeakMap<Caches, CreationOrder>();

/**
 * The quota order of the cached realms, clients and users, kept current by their informers' events
 * from the first use on (seeded with what the caches hold then).
 */
function creationOrderOf(caches: Caches): CreationOrder {
  const known = creationOrders.get(caches);
  if (known) return known;
  const index = new CreationOrder();
  for (const informer of [caches.realms, caches.clients, caches.users] as Informer<KeycloakResource>[]) {
    for (const obj of informer.list()) index.add(obj);
    informer.onChange((e) => {
      if (e.type === "add") index.add(e.object);
      else if (e.type === "delete") index.remove(e.object);
      else if (e.old) index.update(e.old, e.object);
    });
  }
  creationOrders.set(caches, index);
  return index;
}

/** The informer caches as the policy-input builder's lookup. */
export function cacheLookup(caches: Caches): PolicyLookup {
  const order = creationOrderOf(caches);
  return {
    countCreatedBefore: (obj, scope) => order.countBefore(obj, scope),
    instance: (ref) => caches.instances.get(ref.namespace, ref.name),
    realm: (ref) => caches.realms.get(ref.namespace, ref.name),
    realms: (namespace) => caches.realms.list(namespace),
    clients: (namespace) => caches.clients.list(namespace),
    users: (namespace) => caches.users.list(namespace),
    namespace: (name) => namespaceFacts(caches, name),
  };
}

export function realmPolicyInput(caches: Caches, realm: KeycloakRealm): PolicyInput {
  return policyInputFor(cacheLookup(caches), realm);
}

export function clientPolicyInput(caches: Caches, client: KeycloakClient): PolicyInput {
  return policyInputFor(cacheLookup(caches), client);
}

export function userPolicyInput(caches: Caches, user: KeycloakUser): PolicyInput {
  return policyInputFor(cacheLookup(caches), user);
}

export function instancePolicyInput(caches: Caches, instance: KeycloakInstance): PolicyInput {
  return policyInputFor(cacheLookup(caches), instance);
}

function readiness(kind: string, key: string, obj: KeycloakResource | undefined): DependencyFacts {
  if (!obj) {
    return {
      ready: false,
      reason: `${kind}NotFound`,
      message: `${kind} ${key} does not exist; create it or fix the reference`,
    };
  }
  const phase = obj.status?.phase;
  // The chart tags the usable phases: Degraded counts, as the dependency worked and hit a transient
  // error, so the dependent tries too and backs off on its own instead of dropping back to Pending.
  if (!phaseHasTag(phase, "usableDependency") || obj.metadata.deletionTimestamp) {
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
  return readiness("KeycloakInstance", formatKey(ref), caches.instances.get(ref.namespace, ref.name));
}

export function clientDependency(caches: Caches, client: KeycloakClient): DependencyFacts {
  const ref = realmRefOf(client);
  return readiness("KeycloakRealm", formatKey(ref), caches.realms.get(ref.namespace, ref.name));
}

export function userDependency(caches: Caches, user: KeycloakUser): DependencyFacts {
  const ref = realmRefOf(user);
  return readiness("KeycloakRealm", formatKey(ref), caches.realms.get(ref.namespace, ref.name));
}
