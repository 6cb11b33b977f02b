// Defaults the schema cannot express because they depend on the object's own metadata: the
// namespace of a reference (the referring object's namespace) and the name of a client's Secret.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { KeycloakClientSpec, KeycloakRealmSpec } from "./types.generated.js";

/** A reference with its namespace filled in. */
export interface ResolvedRef {
  name: string;
  namespace: string;
}

interface Referrer<Spec> {
  kind: string;
  metadata: V1ObjectMeta;
  spec: Spec;
}

function namespaceOf(obj: { kind: string; metadata: V1ObjectMeta }): string {
  const namespace = obj.metadata.namespace;
  if (namespace === undefined || namespace === "") {
    throw new Error(
      `${obj.kind} ${obj.metadata.name ?? "?"} has no metadata.namespace; all keycloak.kpo.dev kinds are namespaced, ` +
        "so the object must come from the API server or set its namespace",
    );
  }
  return namespace;
}

/** The KeycloakInstance a realm points at; spec.instanceRef.namespace defaults to the realm's namespace. */
export function instanceRefOf(realm: Referrer<Pick<KeycloakRealmSpec, "instanceRef">>): ResolvedRef {
  const ref = realm.spec.instanceRef;
  return { name: ref.name, namespace: ref.namespace ?? namespaceOf(realm) };
}

/** The KeycloakRealm a client points at; spec.realmRef.namespace defaults to the client's namespace. */
export function realmRefOf(client: Referrer<Pick<KeycloakClientSpec, "realmRef">>): ResolvedRef {
  const ref = client.spec.realmRef;
  return { name: ref.name, namespace: ref.namespace ?? namespaceOf(client) };
}

/** Name of the Secret a client's credentials go to: spec.secret.name, or `<resource name>-credentials`. */
export function clientSecretName(client: {
  metadata: V1ObjectMeta;
  spec: Pick<KeycloakClientSpec, "secret">;
}): string {
  const explicit = client.spec.secret?.name;
  if (explicit !== undefined) return explicit;
  const name = client.metadata.name;
  if (name === undefined || name === "") {
    throw new Error(
      "KeycloakClient has no metadata.name, so the default Secret name <name>-credentials is unknown",
    );
  }
  return `${name}-credentials`;
}
