// The objects that still reference an instance or a realm, which hold its deletion, and how to say
// so in its status and events. Those are read by the object's owner, who may be another tenant than
// the owners of the referrers: only referrers in the object's own namespace are named, the others
// are counted (the operator's log has their full names, for the platform team).
import type {
  KeycloakClient,
  KeycloakInstance,
  KeycloakRealm,
  KeycloakResource,
  KeycloakUser,
} from "../api/index.js";
import { instanceRefOf, realmRefOf } from "../api/refs.js";
import { isKeyOf } from "../kube/objectKey.js";
import type { Caches } from "./facts.js";

/** How many names a message lists before it says "N more". */
const MAX_NAMES = 5;

/**
 * Could this referrer own something in Keycloak? Only if the policies admitted it at some point:
 * it is admitted now, or it was provisioned once (its status names what it made). Anyone can point
 * a resource at any instance or realm; one that was never admitted must not hold their deletion.
 */
function mayOwnSomething(obj: KeycloakResource): boolean {
  const status = obj.status as
    | {
        conditions?: Array<{ type: string; status: string }>;
        realmName?: string;
        secretName?: string;
        userId?: string;
      }
    | undefined;
  if (status?.realmName !== undefined || status?.secretName !== undefined || status?.userId !== undefined)
    return true;
  return status?.conditions?.some((c) => c.type === "PolicyCompliant" && c.status === "True") ?? false;
}

export function realmsReferencing(caches: Caches, instance: KeycloakInstance): KeycloakRealm[] {
  return caches.realms.list().filter((r) => isKeyOf(instanceRefOf(r), instance) && mayOwnSomething(r));
}

export function clientsReferencing(caches: Caches, realm: KeycloakRealm): KeycloakClient[] {
  return caches.clients.list().filter((c) => isKeyOf(realmRefOf(c), realm) && mayOwnSomething(c));
}

export function usersReferencing(caches: Caches, realm: KeycloakRealm): KeycloakUser[] {
  return caches.users.list().filter((u) => isKeyOf(realmRefOf(u), realm) && mayOwnSomething(u));
}

/**
 * "web, api and 3 in other namespaces": the names of the referrers in `namespace` (sorted, at most
 * five), and only the number of the others.
 */
export function referrerList(namespace: string, referrers: readonly KeycloakResource[]): string {
  const local = referrers
    .filter((o) => o.metadata.namespace === namespace)
    .map((o) => o.metadata.name ?? "")
    .sort();
  const elsewhere = referrers.length - local.length;
  const parts = local.slice(0, MAX_NAMES);
  if (local.length > MAX_NAMES) parts.push(`${local.length - MAX_NAMES} more`);
  if (elsewhere === 1) parts.push("1 in another namespace");
  if (elsewhere > 1) parts.push(`${elsewhere} in other namespaces`);
  const last = parts.pop() ?? "";
  return parts.length > 0 ? `${parts.join(", ")} and ${last}` : last;
}
