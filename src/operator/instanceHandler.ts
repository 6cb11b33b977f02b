// KeycloakInstance: connect with the admin credentials and read the server version. Realms wait
// for their instance to be Ready, so this is where a wrong URL or password shows up first; the
// instance's deletion in turn waits for the realms that reference it. A managed instance
// (spec.managed) is first deployed by the operator (src/managed/provision.ts: database check, admin
// Secret, StatefulSet and Services), then probed like an external one at the address the operator
// found for it; its workload objects go with it by garbage collection.
import type { KeycloakInstance } from "../api/index.js";
import { KeycloakApiError } from "../keycloak/errors.js";
import { objectKey } from "../kube/objectKey.js";
import { BlockedError } from "../lifecycle/errors.js";
import { takeBackup, type BackupRequest } from "../managed/backup.js";
import { provisionManaged, type ManagedDeps } from "../managed/provision.js";
import { classified } from "./classify.js";
import type { ConnectionPool } from "./connections.js";
import { instancePolicyInput, type Caches } from "./facts.js";
import type { KindHandler } from "./handler.js";
import { realmsReferencing, referrerList } from "./referrers.js";

export function instanceHandler(
  caches: Caches,
  pool: ConnectionPool,
  managed: ManagedDeps,
): KindHandler<KeycloakInstance> {
  return {
    dependency: () => ({ ready: true }),
    policyInput: (instance) => instancePolicyInput(caches, instance),
    async provision(instance) {
      const namespace = instance.metadata.namespace ?? "";
      const key = objectKey(instance);
      // An upgrade's backup goes through the Keycloak that runs now, at the address it was found at.
      const backup = async (current: KeycloakInstance, request: BackupRequest) =>
        classified(`KeycloakInstance ${key}: the backup before the upgrade`, async () =>
          takeBackup(
            managed.core,
            await pool.forInstance(current, undefined, { reread: true }),
            current,
            request,
          ),
        );
      const managedOutcome = instance.spec.managed
        ? await provisionManaged(instance, { backup, ...managed })
        : undefined;
      const url = managedOutcome ? String(managedOutcome.status.url) : (instance.spec.external?.url ?? "");
      // The instance's reconcile reads its Secrets again: a rotated admin Secret triggers it.
      const conn = await pool.forInstance(instance, url, { reread: true });
      const readInfo = () =>
        conn.call({ method: "GET", what: "read server info", namespace }, (admin) => admin.serverInfo.find());
      const info = await classified(`KeycloakInstance ${key}`, async () => {
        try {
          return await readInfo();
        } catch (err) {
          // A managed instance's admin Secret rotated: Keycloak still has the previous password.
          const refused = err instanceof KeycloakApiError && err.status === 401;
          if (!(managedOutcome && refused && (await pool.carryOverAdminPassword(instance)))) throw err;
          return readInfo();
        }
      });
      pool.adminCredentialsWork(instance);
      const version = info.systemInfo?.version ?? "unknown";
      return {
        message: managedOutcome
          ? `Keycloak ${version} answers at ${url}; ${managedOutcome.message}`
          : `Connected to Keycloak ${version} at ${url}`,
        status: { ...managedOutcome?.status, version, url },
      };
    },
    teardown(instance, log) {
      // Realms first: once their instance is gone, realms with deletionPolicy Delete could no longer
      // delete their Keycloak realms. The operator never deletes a Keycloak it does not run.
      const realms = realmsReferencing(caches, instance);
      if (realms.length === 0) return Promise.resolve();
      const key = objectKey(instance);
      log.info(
        { realms: realms.map(objectKey).sort() },
        `KeycloakInstance ${key}: deletion waits for the KeycloakRealms that reference it`,
      );
      return Promise.reject(
        new BlockedError(
          `deletion of instance waits for ${realms.length} KeycloakRealm(s) that reference it ` +
            `(${referrerList(instance.metadata.namespace ?? "", realms)}); delete them first`,
        ),
      );
    },
  };
}
