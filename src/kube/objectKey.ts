// The key of a Kubernetes object: namespace and name (kube-rs `ObjectRef`, controller-runtime
// `NamespacedName`). Work queues, caches and logs speak the string form "namespace/name" ("name"
// for a cluster-scoped object, client-go's MetaNamespaceKeyFunc); everything else builds, compares
// and splits keys only through these helpers, so no caller formats or parses one by hand.
import type { KubernetesObject } from "@kubernetes/client-node";

export interface ObjectKey {
  /** "" for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
}

export function objectKeyOf(namespace: string, name: string): ObjectKey {
  return { namespace, name };
}

/** The key of an object as read from the API server (missing metadata reads as ""). */
export function keyOf(obj: KubernetesObject): ObjectKey {
  return { namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

/** "namespace/name", or "name" for a cluster-scoped object. */
export function formatKey(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

/** The inverse of formatKey: a string without "/" is a cluster-scoped name. */
export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: "", name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The string key of an object: formatKey(keyOf(obj)). */
export function objectKey(obj: KubernetesObject): string {
  return formatKey(keyOf(obj));
}

export function sameKey(a: ObjectKey, b: ObjectKey): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

/** Does `key` name this object? */
export function isKeyOf(key: ObjectKey, obj: KubernetesObject): boolean {
  return sameKey(key, keyOf(obj));
}
