// Informer caches filled with given objects and no API server behind them, for unit tests of code
// that reads the operator's caches.
import { KubeConfig, type KubernetesObject, type V1Namespace } from "@kubernetes/client-node";
import { API_VERSION } from "../../src/api/index.js";
import { Informer } from "../../src/kube/informers.js";
import type { Caches } from "../../src/operator/facts.js";

function cache<T extends KubernetesObject>(plural: string, objects: readonly unknown[]): Informer<T> {
  // Never started: filled the way its reflector fills it.
  const informer = new Informer<T>({ kubeConfig: new KubeConfig(), apiVersion: API_VERSION, plural });
  for (const obj of objects) informer.upsert(obj as T);
  return informer;
}

/** The operator's caches holding `objects`, each in the cache of its kind (others are ignored). */
export function cachesOf(objects: readonly { kind?: string }[]): Caches {
  const of = (kind: string) => objects.filter((m) => m.kind === kind);
  return {
    instances: cache("keycloakinstances", of("KeycloakInstance")),
    realms: cache("keycloakrealms", of("KeycloakRealm")),
    clients: cache("keycloakclients", of("KeycloakClient")),
    users: cache("keycloakusers", of("KeycloakUser")),
    namespaces: cache<V1Namespace>("namespaces", of("Namespace")),
  };
}
