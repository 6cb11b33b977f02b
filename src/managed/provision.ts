// Provisioning of a managed Keycloak (spec.managed), in the order that keeps a broken input from
// ever reaching a pod:
//
//   1. render everything once: a spec the operator refuses (an operator-owned additionalOption)
//      fails permanently before any read or write;
//   2. the database credentials Secret and its keys, then a real login (databaseCheck.ts): until it
//      succeeds the instance is Degraded with DatabaseUnreachable and nothing below is written;
//      Every Secret read here is labelled WATCHED_SECRET_LABEL, so its change re-runs these steps.
//   3. the admin Secret: the user's (must exist) or the operator's own, created once with a random
//      password and never overwritten (a create, not an apply, so an existing one always wins);
//   4. the discovery Service, the Service and the StatefulSet by server-side apply, the pod template
//      carrying the hash of every Secret it reads; the optional objects a spec field switches on
//      (optional.ts), each removed again once its field is unset;
//   5. readiness: the StatefulSet's ready replicas at its observed generation. While they are not
//      ready the pods say why (podDiagnosis.ts): a failing pod (an image that cannot be pulled, a
//      crash loop with Keycloak's own error) is KeycloakPodFailing and counts as a failed attempt;
//      pods on their way are KeycloakNotReady, waited for at a steady interval without counting.
//      Then the address the operator reaches Keycloak at (status.url), where the instance handler
//      probes the admin API.
//
// "A resync of an unchanged world makes no writes": each applied object carries the hash of its
// rendering (APPLIED_HASH_ANNOTATION); an object that already carries the hash of the current
// rendering, is owned by this instance and written by no other field manager is not applied again
// (a no-op apply would not change the stored object either, but it is still a request per object per
// resync). Written by anyone else, it is applied again, which repairs drift. An object of the same
// name that the instance does not own is never taken over.
import { randomBytes } from "node:crypto";
import {
  ApiException,
  PatchStrategy,
  type CoreV1Api,
  type KubernetesObject,
  type KubernetesObjectApi,
  type V1Pod,
  type V1Secret,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import type { ManagedAddress } from "../operator/config.js";
import { FIELD_MANAGER, serverSideApply } from "../kube/apply.js";
import { apiMessageOf } from "../kube/apiRequest.js";
import { objectKey } from "../kube/objectKey.js";
import { mergePatchOptions } from "../kube/status.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";
import { CONDITION } from "../lifecycle/status.js";
import { readSecretIfExists, requireKeys } from "../operator/secrets.js";
import { backupOfGeneration, latestBackup, type BackupRequest } from "./backup.js";
import { checkDatabase, type DatabaseTarget } from "./databaseCheck.js";
import { lookUp, noteServed, removeRendered } from "./optional.js";
import { ManagedSpecError } from "./options.js";
import { diagnosePods } from "./podDiagnosis.js";
import {
  APPLIED_HASH_ANNOTATION,
  configHashOf,
  DEFAULT_DB_PORTS,
  KEYCLOAK_CONTAINER,
  managedNames,
  PORTS,
  renderAdminSecret,
  renderDiscoveryService,
  renderIngress,
  renderNetworkPolicy,
  renderPodDisruptionBudget,
  renderService,
  renderServiceMonitor,
  renderStatefulSet,
  selectorLabels,
  statefulSetReadiness,
  withAppliedHash,
  WATCHED_SECRET_LABEL,
  type ManagedSpec,
  type OptionalObject,
} from "./render.js";

/**
 * The Ready condition's reason while the StatefulSet's pods are not (yet) ready and none is failing;
 * a failing one is KEYCLOAK_POD_FAILING (podDiagnosis.ts).
 */
export const KEYCLOAK_NOT_READY = "KeycloakNotReady";
/** The Ready condition's reason while an image change waits for its backup and the old pods to stop. */
export const KEYCLOAK_UPGRADING = "KeycloakUpgrading";

export interface ManagedDeps {
  core: CoreV1Api;
  objects: KubernetesObjectApi;
  /** How the operator reaches the pods (src/operator/config.ts); the Service by default. */
  address?: ManagedAddress;
  /** Stores the backup an upgrade takes first (backup.ts through the running Keycloak); its name. */
  backup?: (instance: KeycloakInstance, request: BackupRequest) => Promise<string>;
  /** Replaceable for tests of the order of steps; the real check logs in to the database. */
  checkDatabase?: (target: DatabaseTarget) => Promise<void>;
}

export interface ManagedOutcome {
  message: string;
  status: Record<string, unknown>;
}

async function readSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  field: string,
  keys: string[],
): Promise<V1Secret | undefined> {
  const secret = await readSecretIfExists(core, namespace, name, field);
  if (!secret) return undefined;
  requireKeys(secret, keys, field);
  await watchSecret(core, secret, field);
  return secret;
}

/** Puts WATCHED_SECRET_LABEL on a Secret the pods read, unless it is there already. */
async function watchSecret(core: CoreV1Api, secret: V1Secret, field: string): Promise<void> {
  if (secret.metadata?.labels?.[WATCHED_SECRET_LABEL] === "true") return;
  const name = secret.metadata?.name ?? "";
  const namespace = secret.metadata?.namespace ?? "";
  try {
    await core.patchNamespacedSecret(
      { name, namespace, body: { metadata: { labels: { [WATCHED_SECRET_LABEL]: "true" } } } },
      mergePatchOptions(),
    );
  } catch (err) {
    throw new TransientError(
      `labelling Secret ${namespace}/${name} (${field}) ${WATCHED_SECRET_LABEL} failed: ${apiMessageOf(err)}`,
    );
  }
}

function decoded(secret: V1Secret, key: string): string {
  return Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");
}

async function readObject<T extends KubernetesObject>(
  objects: KubernetesObjectApi,
  desired: T,
): Promise<T | undefined> {
  try {
    return await objects.read<T>({
      apiVersion: desired.apiVersion ?? "",
      kind: desired.kind ?? "",
      metadata: { name: desired.metadata?.name ?? "", namespace: desired.metadata?.namespace ?? "" },
    });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw new TransientError(
      `reading ${desired.kind} ${desired.metadata?.namespace ?? ""}/${desired.metadata?.name ?? ""} failed: ${apiMessageOf(err)}`,
    );
  }
}

/**
 * Whether the operator is the only writer of the object's main resource (status and scale
 * subresources aside). Anyone else's write — kubectl edit, a patch, another apply — shows as a
 * managedFields entry of another manager, and then the object is applied again: forced, the apply
 * takes the operator's fields back, which is how drift is repaired.
 */
function onlyOurs(obj: KubernetesObject): boolean {
  return (obj.metadata?.managedFields ?? []).every(
    (f) => Boolean(f.subresource) || f.manager === FIELD_MANAGER,
  );
}

/**
 * Applies `desired` unless the stored object already is this rendering; returns the stored object.
 * `stored` is the object as a caller has just read it (absent: undefined), so it is not read twice.
 */
async function applyOwned<T extends KubernetesObject>(
  objects: KubernetesObjectApi,
  instance: KeycloakInstance,
  rendered: T,
  stored?: { existing: KubernetesObject | undefined },
): Promise<T> {
  const desired = withAppliedHash(rendered);
  const where = `${desired.kind} ${desired.metadata?.namespace ?? ""}/${desired.metadata?.name ?? ""}`;
  const existing = stored ? (stored.existing as T | undefined) : await readObject(objects, desired);
  if (existing) {
    const owned = existing.metadata?.ownerReferences?.some((r) => r.uid === instance.metadata.uid);
    if (!owned) {
      throw new PermanentError(
        `${where} exists and is not owned by KeycloakInstance ${objectKey(instance)}; ` +
          `the operator does not take it over: delete or rename it`,
      );
    }
    const want = desired.metadata?.annotations?.[APPLIED_HASH_ANNOTATION];
    if (existing.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] === want && onlyOurs(existing))
      return existing;
  }
  try {
    return await serverSideApply(objects, desired, { fieldManager: FIELD_MANAGER });
  } catch (err) {
    throw new TransientError(err instanceof Error ? err.message : `server-side apply of ${where} failed`);
  }
}

/** The instance's pods, or why they could not be listed (readiness is then told without them). */
async function podsOf(core: CoreV1Api, instance: KeycloakInstance): Promise<V1Pod[] | string> {
  const namespace = instance.metadata.namespace ?? "";
  const labelSelector = Object.entries(selectorLabels(instance))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  try {
    return (await core.listNamespacedPod({ namespace, labelSelector })).items;
  } catch (err) {
    return `its pods could not be listed: ${apiMessageOf(err)}`;
  }
}

/** Applies an optional object while its field enables it, removes it once unset (optional.ts). */
async function syncOptional(
  objects: KubernetesObjectApi,
  instance: KeycloakInstance,
  optional: OptionalObject,
): Promise<void> {
  const found = await lookUp(objects, optional);
  noteServed(instance, optional, found.served);
  if (!found.served) return;
  if (optional.rendered) await applyOwned(objects, instance, optional.rendered, found);
  else if (found.existing) await removeRendered(objects, instance, optional, found.existing);
}

function databaseTarget(managed: ManagedSpec, secret: V1Secret): DatabaseTarget {
  const db = managed.database;
  const ref = db.credentialsSecretRef;
  return {
    vendor: db.vendor,
    host: db.host ?? "",
    port: db.port ?? DEFAULT_DB_PORTS[db.vendor] ?? 0,
    database: db.database ?? "",
    username: decoded(secret, ref?.usernameKey ?? "username"),
    password: decoded(secret, ref?.passwordKey ?? "password"),
  };
}

export async function provisionManaged(
  instance: KeycloakInstance,
  deps: ManagedDeps,
): Promise<ManagedOutcome> {
  const managed = instance.spec.managed;
  if (!managed) throw new PermanentError(`KeycloakInstance ${objectKey(instance)} has no spec.managed`);
  const namespace = instance.metadata.namespace ?? "";
  const key = objectKey(instance);
  const names = managedNames(instance);
  // Passwords the pods receive, masked should a pod's termination message echo one.
  const passwords: string[] = [];

  // 1. Refused input fails before anything is read or written.
  try {
    renderStatefulSet(instance, "");
  } catch (err) {
    if (err instanceof ManagedSpecError) throw new PermanentError(`KeycloakInstance ${key}: ${err.message}`);
    throw err;
  }

  // 2. The database, before any workload.
  const sources: { kind: string; name: string; data: Record<string, string> | undefined }[] = [];
  const db = managed.database;
  const ref = db.credentialsSecretRef;
  if (ref && db.vendor !== "dev-file" && db.vendor !== "dev-mem") {
    const field = "spec.managed.database.credentialsSecretRef";
    const secret = await readSecret(deps.core, namespace, ref.name, field, [
      ref.usernameKey ?? "username",
      ref.passwordKey ?? "password",
    ]);
    if (!secret)
      throw new TransientError(`Secret ${namespace}/${ref.name} (${field}) does not exist; create it`);
    const target = databaseTarget(managed, secret);
    await (deps.checkDatabase ?? checkDatabase)(target);
    passwords.push(target.password);
    sources.push({ kind: "Secret", name: ref.name, data: secret.data });
  }

  // 3. The admin Secret, before the workload that reads it.
  const adminField = names.adminSecretOwned ? "the operator's admin Secret" : "spec.managed.adminSecretName";
  let admin = await readSecret(deps.core, namespace, names.adminSecret, adminField, ["username", "password"]);
  if (!admin) {
    if (!names.adminSecretOwned) {
      throw new TransientError(
        `Secret ${namespace}/${names.adminSecret} (${adminField}) does not exist; create it with keys username and password`,
      );
    }
    const body = renderAdminSecret(instance, randomBytes(24).toString("base64url"));
    try {
      admin = await deps.core.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER });
    } catch (err) {
      // Created meanwhile (an earlier reconcile whose response was lost): the existing one wins.
      if (!(err instanceof ApiException && err.code === 409)) {
        throw new TransientError(
          `creating Secret ${namespace}/${names.adminSecret} (${adminField}) failed: ${apiMessageOf(err)}`,
        );
      }
      admin = await readSecret(deps.core, namespace, names.adminSecret, adminField, ["username", "password"]);
      if (!admin) throw new TransientError(`Secret ${namespace}/${names.adminSecret} vanished; retrying`);
    }
  }
  sources.push({ kind: "Secret", name: names.adminSecret, data: admin.data });
  passwords.push(decoded(admin, "password"));

  if (managed.tls) {
    const field = "spec.managed.tls.secretName";
    const tls = await readSecret(deps.core, namespace, managed.tls.secretName, field, ["tls.crt", "tls.key"]);
    if (!tls) {
      throw new TransientError(
        `Secret ${namespace}/${managed.tls.secretName} (${field}) does not exist; create it`,
      );
    }
    sources.push({ kind: "Secret", name: managed.tls.secretName, data: tls.data });
  }
  for (const name of managed.truststoreSecrets ?? []) {
    const truststore = await readSecret(deps.core, namespace, name, "spec.managed.truststoreSecrets", []);
    if (!truststore) {
      throw new TransientError(
        `Secret ${namespace}/${name} (spec.managed.truststoreSecrets) does not exist; create it`,
      );
    }
    sources.push({ kind: "Secret", name, data: truststore.data });
  }

  // 4. The workload and its Services; a new image is an upgrade, which goes first (upgrade below).
  await applyOwned(deps.objects, instance, renderDiscoveryService(instance));
  await applyOwned(deps.objects, instance, renderService(instance));
  await syncOptional(deps.objects, instance, renderNetworkPolicy(instance));
  await syncOptional(deps.objects, instance, renderPodDisruptionBudget(instance));
  const desired = renderStatefulSet(instance, configHashOf(sources));
  const existing = await readObject(deps.objects, desired);
  await upgrade(instance, deps, desired, existing);
  const sts = await applyOwned<V1StatefulSet>(deps.objects, instance, desired, { existing });
  await syncOptional(deps.objects, instance, renderIngress(instance));
  await syncOptional(deps.objects, instance, renderServiceMonitor(instance));

  // 5. Readiness: the pods; the admin API's version probe follows in the instance handler.
  const readiness = statefulSetReadiness(sts);
  if (!readiness.ready) {
    const pods = await podsOf(deps.core, instance);
    const failing = typeof pods === "string" ? undefined : diagnosePods(pods, passwords);
    if (failing) {
      // A failed upgrade names the backup taken before it, so the way back is in the status.
      const backup = await backupOfGeneration(deps.core, instance).catch(() => undefined);
      const note = backup ? `; the backup taken before this change is Secret ${backup}` : "";
      throw new TransientError(failing.message + note, { reason: failing.reason });
    }
    const unlisted = typeof pods === "string" ? `; ${pods}` : "";
    throw new TransientError(readiness.message + unlisted, { reason: KEYCLOAK_NOT_READY, progressing: true });
  }
  const scheme = managed.tls ? "https" : "http";
  const port = managed.tls ? PORTS.https : PORTS.http;
  const host =
    (deps.address ?? "service") === "service"
      ? `${names.service}.${namespace}.svc`
      : await readyPodAddress(deps.core, instance);
  const lastBackup = await latestBackup(deps.core, instance);
  return {
    message: `Keycloak is running: ${readiness.message}`,
    status: { url: `${scheme}://${host}:${port}`, ...(lastBackup ? { lastBackup } : {}) },
  };
}

const imageOf = (sts: V1StatefulSet | undefined): string | undefined =>
  sts?.spec?.template.spec?.containers.find((c) => c.name === KEYCLOAK_CONTAINER)?.image;

/**
 * A changed image is a Keycloak upgrade, which may migrate the database schema: old and new
 * versions must not serve side by side, so instead of the StatefulSet's rolling update the operator
 * (1) stores a backup of every realm through the running Keycloak (backup.ts; once per generation of
 * the instance), (2) scales the old pods to zero and waits until they are gone, and only then (3)
 * lets the new rendering be applied. Each wait is a reconcile that ends in KEYCLOAK_UPGRADING.
 * A configuration change with the same image rolls as usual.
 */
async function upgrade(
  instance: KeycloakInstance,
  deps: ManagedDeps,
  desired: V1StatefulSet,
  existing: V1StatefulSet | undefined,
): Promise<void> {
  const fromImage = imageOf(existing);
  const toImage = imageOf(desired) ?? "";
  if (!existing || fromImage === undefined || fromImage === toImage) return;
  const where = `StatefulSet ${objectKey(instance)}`;
  let backupNote: string;
  const backup = await backupOfGeneration(deps.core, instance);
  if (backup) backupNote = `backup ${backup} stored`;
  else if ((existing.status?.readyReplicas ?? 0) > 0) {
    if (!deps.backup)
      throw new PermanentError(
        `KeycloakInstance ${objectKey(instance)}: no backup available for the upgrade`,
      );
    backupNote = `backup ${await deps.backup(instance, { reason: "upgrade", fromImage, toImage })} stored`;
  } else {
    // No pod serves (e.g. the image being replaced never started): there is no Keycloak to export
    // from, and waiting for one would make a broken image impossible to replace.
    const newest = await latestBackup(deps.core, instance);
    backupNote = `no Keycloak pod is ready to take a backup from; ${newest ? `the newest backup is ${newest}` : "there is no earlier backup"}`;
  }
  const replicas = existing.spec?.replicas ?? 1;
  // Pods still terminating count too: none of the old version may be left when the new one starts.
  const running = (await listedPods(deps.core, instance)).length;
  if (replicas === 0 && running === 0) return;
  if (replicas > 0) {
    try {
      await deps.objects.patch(
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: existing.metadata,
          spec: { replicas: 0 },
        } as V1StatefulSet,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      );
    } catch (err) {
      throw new TransientError(`scaling ${where} to 0 for the upgrade failed: ${apiMessageOf(err)}`);
    }
  }
  throw new TransientError(
    `upgrading Keycloak from ${fromImage} to ${toImage}: ${backupNote}; ` +
      `waiting for the old pods to stop (${running} running) before the new ones start`,
    { reason: KEYCLOAK_UPGRADING, progressing: true },
  );
}

/** The instance's pods; a failed list is an error here (an upgrade must not guess). */
async function listedPods(core: CoreV1Api, instance: KeycloakInstance): Promise<V1Pod[]> {
  const pods = await podsOf(core, instance);
  if (typeof pods === "string") throw new TransientError(`KeycloakInstance ${objectKey(instance)}: ${pods}`);
  return pods;
}

/** The IP of the first Ready pod of the instance (by name, so the choice is stable). */
async function readyPodAddress(core: CoreV1Api, instance: KeycloakInstance): Promise<string> {
  const pods = await listedPods(core, instance);
  // A Pod's Ready condition has the same type name as the operator's own (kstatus reads both).
  const ready = pods
    .filter(
      (p) =>
        p.status?.podIP &&
        p.status.conditions?.some((c) => c.type === CONDITION.Ready && c.status === "True"),
    )
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const ip = ready[0]?.status?.podIP;
  if (!ip) {
    throw new TransientError(`KeycloakInstance ${objectKey(instance)}: no Ready pod with an IP yet`, {
      reason: KEYCLOAK_NOT_READY,
    });
  }
  // An IPv6 address goes into a URL in brackets.
  return ip.includes(":") ? `[${ip}]` : ip;
}
