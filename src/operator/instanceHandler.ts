// KeycloakInstance: connect with the admin credentials and read the server version. Realms wait
// for their instance to be Ready, so this is where a wrong URL or password shows up first.
import type { KeycloakInstance } from "../api/index.js";
import { PermanentError } from "../lifecycle/errors.js";
import { classified } from "./classify.js";
import type { ConnectionPool } from "./connections.js";
import { instancePolicyInput, type Caches } from "./facts.js";
import type { KindHandler } from "./handler.js";

export function instanceHandler(caches: Caches, pool: ConnectionPool): KindHandler<KeycloakInstance> {
  return {
    dependency: () => ({ ready: true }),
    policyInput: (instance) => instancePolicyInput(caches, instance),
    async provision(instance) {
      const namespace = instance.metadata.namespace ?? "";
      const key = `${namespace}/${instance.metadata.name}`;
      if (instance.spec.managed) {
        throw new PermanentError(
          `KeycloakInstance ${key}: spec.managed is not supported by this operator version; ` +
            `deploy Keycloak yourself and use spec.external`,
        );
      }
      const conn = await pool.forInstance(instance);
      const info = await classified(`KeycloakInstance ${key}`, () =>
        conn.call({ method: "GET", what: "read server info", namespace }, (admin) => admin.serverInfo.find()),
      );
      const version = info.systemInfo?.version ?? "unknown";
      return {
        message: `Connected to Keycloak ${version} at ${instance.spec.external?.url ?? ""}`,
        status: { version, url: instance.spec.external?.url },
      };
    },
    teardown: async () => {
      // The operator never deletes a Keycloak it does not run.
    },
  };
}
