// KeycloakClient: diff-based sync of the client into its realm, then its credentials delivered as a
// Secret in the client's own namespace (server-side apply, owner reference to the CR). The secret
// value goes from Keycloak straight into the Secret's data; it is never logged or put in status.
import type { CoreV1Api, KubernetesObjectApi, V1Secret } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import { API_VERSION, type KeycloakClient, type KeycloakInstance, type KeycloakRealm } from "../api/index.js";
import { clientSecretName, instanceRefOf, realmRefOf } from "../api/refs.js";
import { serverSideApply } from "../kube/apply.js";
import { formatKey, objectKey, objectKeyOf } from "../kube/objectKey.js";
import type { Informer } from "../kube/informers.js";
import type { OwnWrites } from "../kube/ownWrites.js";
import {
  computeRealmEndpoints,
  deleteClient,
  getClientSecretById,
  rotateClientSecret,
  type ClientSyncResult,
  syncClient,
  type KeycloakConnection,
} from "../keycloak/index.js";
import { writeOnlySecretHash } from "../keycloak/secretHash.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";
import type { DecideFn } from "../policy/decision.js";
import { desiredClient } from "../resources/clientRepresentation.js";
import { classified } from "./classify.js";
import { publicBaseUrl, type ConnectionPool } from "./connections.js";
import { clientDependency, clientPolicyInput, type Caches } from "./facts.js";
import { cleanupSkipped, type KindHandler } from "./handler.js";
import { checkLivePrivilege } from "./privilegeCheck.js";
import { ownerOf } from "./realmHandler.js";

/** Labels on every credentials Secret, so the operator can watch exactly these Secrets. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "keycloak-policy-operator";
export const CLIENT_LABEL = "keycloak.kpo.dev/client";
/** The spec.secret.rotate value the Secret's current value answers to. */
export const ROTATION_ANNOTATION = "keycloak.kpo.dev/rotation";
/**
 * A keyed hash of the data the operator wrote (src/keycloak/secretHash.ts): with the Secret's
 * resourceVersion unchanged since (status.secretResourceVersion), it says from the metadata alone
 * whether the data is what the client wants now, so a resync need not read the values.
 */
export const DATA_DIGEST_ANNOTATION = "keycloak.kpo.dev/data-digest";

/** The credentials Secrets: their metadata-only cache, and the writer that marks writes as own. */
export interface CredentialSecrets {
  cache: Pick<Informer<V1Secret>, "get">;
  writes: Pick<OwnWrites<V1Secret>, "write">;
}

function dataDigest(data: Record<string, string>, client: KeycloakClient): string {
  const canonical = JSON.stringify(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  return writeOnlySecretHash("credentials", canonical, { uid: client.metadata.uid ?? "" });
}

/**
 * The spec.secret.rotate value the operator would rotate the client secret for, when the
 * credentials Secret answers to another one: rotation is asked for by raising it above the value the
 * Secret holds (a Secret not yet written holds none, and a new client gets a fresh secret anyway).
 */
export function pendingRotation(
  client: Pick<KeycloakClient, "spec">,
  existing: V1Secret | undefined,
): string | undefined {
  const wanted = String(client.spec.secret?.rotate ?? 0);
  const current = existing?.metadata?.annotations?.[ROTATION_ANNOTATION];
  return current !== undefined && current !== wanted ? wanted : undefined;
}

/** Has a client secret to deliver: a confidential OIDC client (SAML clients sign instead). */
export function isConfidential(client: Pick<KeycloakClient, "spec">): boolean {
  return !client.spec.publicClient && !client.spec.bearerOnly && client.spec.protocol !== "saml";
}

export function clientHandler(
  caches: Caches,
  pool: ConnectionPool,
  core: CoreV1Api,
  objects: KubernetesObjectApi,
  decide: DecideFn,
  credentialSecrets: CredentialSecrets,
): KindHandler<KeycloakClient> {
  const targetsOf = (client: KeycloakClient): { realm: KeycloakRealm; instance: KeycloakInstance } => {
    const rref = realmRefOf(client);
    const realm = caches.realms.get(rref.namespace, rref.name);
    if (!realm) throw new TransientError(`KeycloakRealm ${formatKey(rref)} does not exist`);
    const iref = instanceRefOf(realm);
    const instance = caches.instances.get(iref.namespace, iref.name);
    if (!instance) throw new TransientError(`KeycloakInstance ${formatKey(iref)} does not exist`);
    return { realm, instance };
  };
  const realmNameOf = (realm: KeycloakRealm) => realm.status?.realmName ?? realm.spec.realmName;
  /** What is gone of the realm and instance the client's Keycloak client lives in, if anything. */
  const goneTargetOf = (client: KeycloakClient): string | undefined => {
    const rref = realmRefOf(client);
    const realm = caches.realms.get(rref.namespace, rref.name);
    if (!realm) return `KeycloakRealm ${formatKey(rref)}`;
    const iref = instanceRefOf(realm);
    // The instance is the realm owner's: say whose it is, not its name.
    if (!caches.instances.get(iref.namespace, iref.name))
      return `the KeycloakInstance of KeycloakRealm ${formatKey(rref)}`;
    return undefined;
  };

  /**
   * The Secret as the last reconcile left it, from the metadata cache, when its resourceVersion is
   * still the one that reconcile recorded: nobody has written it since, so its data is what the
   * digest annotation says. Otherwise undefined, and the Secret is read.
   */
  function unchangedSecret(client: KeycloakClient, name: string): V1Secret | undefined {
    const recorded = client.status?.secretResourceVersion;
    const cached = credentialSecrets.cache.get(client.metadata.namespace ?? "", name);
    return recorded && cached?.metadata?.resourceVersion === recorded ? cached : undefined;
  }

  async function currentSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw new TransientError(
        `reading Secret ${namespace}/${name} failed: HTTP ${(err as ApiException<unknown>).code ?? "error"}`,
      );
    }
  }

  /**
   * `synced` is what the sync just found or created: the secret it read with the client, else the
   * secret read by the client's id (no second lookup).
   */
  async function secretValue(
    conn: KeycloakConnection,
    client: KeycloakClient,
    realmName: string,
    synced: ClientSyncResult,
    existing: V1Secret | undefined,
  ): Promise<{ value: string; rotation: string }> {
    const key = objectKey(client);
    const wanted = String(client.spec.secret?.rotate ?? 0);
    const namespace = client.metadata.namespace ?? "";
    // Rotate only when asked for a rotation the Secret does not hold yet; until the new value is
    // written the Secret keeps the old one, so a failed write never leaves the app without credentials.
    if (pendingRotation(client, existing) !== undefined) {
      const value = await classified(`rotating the secret of KeycloakClient ${key}`, () =>
        rotateClientSecret(conn, realmName, client.spec.clientId, ownerOf(client)),
      );
      return { value, rotation: wanted };
    }
    if (synced.secret !== undefined) return { value: synced.secret, rotation: wanted };
    const value = await classified(`reading the secret of KeycloakClient ${key}`, () =>
      getClientSecretById(conn, realmName, synced.client, namespace),
    );
    return { value, rotation: wanted };
  }

  /**
   * Did the operator create this Secret for this client? Its labels say so and it is owned by this
   * CR, or by an earlier KeycloakClient of the same name that no longer exists (deleted and created
   * again before the garbage collector removed the old Secret).
   */
  function ownsSecret(secret: V1Secret, client: KeycloakClient): boolean {
    const labels = secret.metadata?.labels ?? {};
    if (labels[MANAGED_BY_LABEL] !== MANAGED_BY || labels[CLIENT_LABEL] !== client.metadata.name)
      return false;
    const owners = (secret.metadata?.ownerReferences ?? []).filter((r) => r.kind === "KeycloakClient");
    if (owners.some((r) => r.uid === client.metadata.uid)) return true;
    const namespace = client.metadata.namespace ?? "";
    return (
      owners.length > 0 &&
      owners.every((r) => r.name === client.metadata.name) &&
      caches.clients.list(namespace).every((c) => !owners.some((r) => r.uid === c.metadata.uid))
    );
  }

  return {
    dependency: (client) => clientDependency(caches, client),
    policyInput: (client) => clientPolicyInput(caches, client),
    async provision(client, log) {
      const { realm, instance } = targetsOf(client);
      const conn = await pool.forInstance(instance);
      const realmName = realmNameOf(realm);
      const key = objectKey(client);
      const namespace = client.metadata.namespace ?? "";
      const secretName = clientSecretName(client);
      // Checked before anything is written anywhere: a Secret the operator did not create for this
      // client is never merged into, taken over or deleted (a confused deputy otherwise).
      const unchanged = unchangedSecret(client, secretName);
      const existing = unchanged ?? (await currentSecret(namespace, secretName));
      if (existing && !ownsSecret(existing, client)) {
        throw new PermanentError(
          `Secret ${namespace}/${secretName} (spec.secret.name) already exists and was not created for this KeycloakClient; ` +
            "the operator never writes to, takes over or deletes a Secret it did not create. Choose another spec.secret.name, or delete that Secret",
        );
      }
      await classified(`checking the roles client ${client.spec.clientId} grants`, () =>
        checkLivePrivilege(conn, realmName, clientPolicyInput(caches, client), decide),
      );
      const result = await classified(`KeycloakClient ${key}`, () =>
        syncClient(conn, realmName, desiredClient(client.spec), ownerOf(client), {
          adopt: client.spec.adopt ?? false,
          // Not yet recorded in the status: most likely new, so it is created without a lookup first.
          expectNew: client.status?.clientId !== client.spec.clientId,
        }),
      );
      if (result.writes > 0)
        log.info(
          { writes: result.writes, changed: result.changedFields },
          `client ${client.spec.clientId} synced`,
        );

      const endpoints = computeRealmEndpoints(publicBaseUrl(instance), realmName);
      const data: Record<string, string> = {
        "client-id": client.spec.clientId,
        issuer: endpoints.issuer,
        "token-endpoint": endpoints.tokenEndpoint,
        "authorization-endpoint": endpoints.authorizationEndpoint,
        "userinfo-endpoint": endpoints.userinfoEndpoint,
        "jwks-uri": endpoints.jwksUri,
      };
      let rotation = String(client.spec.secret?.rotate ?? 0);
      if (isConfidential(client)) {
        const secret = await secretValue(conn, client, realmName, result, existing);
        data["client-secret"] = secret.value;
        rotation = secret.rotation;
      }
      const desired: V1Secret = {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: {
          name: secretName,
          namespace,
          labels: {
            ...(client.spec.secret?.labels ?? {}),
            [MANAGED_BY_LABEL]: MANAGED_BY,
            [CLIENT_LABEL]: client.metadata.name ?? "",
          },
          annotations: {
            ...(client.spec.secret?.annotations ?? {}),
            [ROTATION_ANNOTATION]: rotation,
            [DATA_DIGEST_ANNOTATION]: dataDigest(data, client),
          },
          ownerReferences: [
            {
              apiVersion: API_VERSION,
              kind: "KeycloakClient",
              name: client.metadata.name ?? "",
              uid: client.metadata.uid ?? "",
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        stringData: data,
      };
      // An unchanged Secret's data is known by its digest (part of the annotations compared).
      let verified = secretMatches(existing, desired, unchanged ? undefined : data) ? existing : undefined;
      if (!verified) {
        // Through credentialSecrets.writes, so the watch on these Secrets does not queue this client
        // again for the write it is making now (it would re-read everything from Keycloak for nothing).
        verified = await classified(`writing Secret ${namespace}/${secretName}`, () =>
          credentialSecrets.writes.write(formatKey(objectKeyOf(namespace, secretName)), () =>
            serverSideApply(objects, desired),
          ),
        ).catch((err: unknown) => {
          throw new TransientError(err instanceof Error ? err.message : String(err));
        });
      }
      const secretResourceVersion = verified?.metadata?.resourceVersion;
      return {
        // The same words whether this reconcile created the client or found it in sync: a message
        // that told them apart changed the status on the next reconcile of every new client (a
        // status write per client on the first resync or restart). The log line above says what
        // was written.
        message: `Client ${client.spec.clientId} is in sync; credentials in Secret ${secretName}`,
        status: {
          clientId: client.spec.clientId,
          secretName,
          ...(secretResourceVersion ? { secretResourceVersion } : {}),
        },
      };
    },
    async teardown(client) {
      const namespace = client.metadata.namespace ?? "";
      // Nothing can reach the Keycloak client once its realm or instance is gone: release it anyway.
      const gone = client.spec.deletionPolicy === "Delete" ? goneTargetOf(client) : undefined;
      if ((client.spec.deletionPolicy ?? "Retain") === "Delete" && !gone) {
        const { realm, instance } = targetsOf(client);
        const conn = await pool.forInstance(instance);
        await classified(`deleting client of KeycloakClient ${namespace}/${client.metadata.name}`, () =>
          deleteClient(conn, realmNameOf(realm), client.spec.clientId, ownerOf(client)),
        );
      }
      // The owner reference lets the garbage collector remove the Secret too; deleting it here makes
      // that independent of the cluster's garbage collector. Only a Secret this client owns, and
      // exactly that object (uid precondition), so a Secret someone put in its place survives.
      const name = clientSecretName(client);
      const existing = await currentSecret(namespace, name);
      const uid = existing?.metadata?.uid;
      if (existing && uid && ownsSecret(existing, client)) {
        await core
          .deleteNamespacedSecret({ namespace, name, body: { preconditions: { uid } } })
          .catch((err: unknown) => {
            if (!(err instanceof ApiException && (err.code === 404 || err.code === 409)))
              throw new TransientError(`deleting Secret ${namespace}/${name} failed`);
          });
      }
      if (!gone) return;
      return cleanupSkipped(gone, `client ${client.spec.clientId}`);
    },
  };
}

/**
 * Skip the write when the Secret already holds exactly what would be applied. `data` undefined: the
 * values were not read, and the digest annotation (compared with the other annotations) stands for them.
 */
function secretMatches(
  existing: V1Secret | undefined,
  desired: V1Secret,
  data: Record<string, string> | undefined,
): boolean {
  if (!existing) return false;
  const stored = existing.data ?? {};
  const sameData =
    data === undefined ||
    (Object.keys(stored).length === Object.keys(data).length &&
      Object.entries(data).every(
        ([k, v]) => stored[k] !== undefined && Buffer.from(stored[k], "base64").toString("utf8") === v,
      ));
  const sameMeta = (want: Record<string, string> | undefined, have: Record<string, string> | undefined) =>
    Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
  const owned = existing.metadata?.ownerReferences?.some(
    (r) => r.uid === desired.metadata?.ownerReferences?.[0]?.uid,
  );
  return (
    sameData &&
    Boolean(owned) &&
    sameMeta(desired.metadata?.labels, existing.metadata?.labels) &&
    sameMeta(desired.metadata?.annotations, existing.metadata?.annotations)
  );
}
