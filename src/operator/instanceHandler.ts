// KeycloakInstance: connect with the admin credentials and read the server version. Realms wait
// for their instance to be Ready, so this is where a wrong URL or password shows up first; the
// instance's deletion in turn waits for the realms that reference it. A managed instance
// (spec.managed) is first deployed by the operator (src/managed/provision.ts: database check, admin
// Secret, StatefulSet and Services), then probed like an external one at the address the operator
// found for it; its workload objects go with it by garbage collection.
import type { KeycloakInstance } from "../api/index.js";
import { objectKey } from "../kube/objectKey.js";
import { BlockedError } from "../lifecycle/errors.js";
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
      const managedOutcome = instance.spec.managed ? await provisionManaged(instance, managed) : undefined;
      const url = managedOutcome ? String(managedOutcome.status.url) : (instance.spec.external?.url ?? "");
      const conn = await pool.forInstance(instance, url);
      const info = await classified(`KeycloakInstance ${key}`, () =>
        conn.call({ method: "GET", what: "read server info", namespace }, (admin) => admin.serverInfo.find()),
      );
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
