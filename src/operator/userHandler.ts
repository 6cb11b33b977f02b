// KeycloakUser: diff-based sync of the user into its realm — fields, group memberships, role
// mappings, identity-provider links — after the live privilege check of everything its roles and
// groups confer. The initial password's Secret is read only while the password has not been set
// (status.passwordInitialized), goes straight into the request that creates the user, and is never
// logged, put in status or read again.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { KeycloakInstance, KeycloakRealm, KeycloakUser } from "../api/index.js";
import { instanceRefOf, realmRefOf } from "../api/refs.js";
import { deleteUser, syncUser } from "../keycloak/index.js";
import { formatKey, objectKey } from "../kube/objectKey.js";
import { TransientError } from "../lifecycle/errors.js";
import type { DecideFn } from "../policy/decision.js";
import { noSecrets, userSecretReferences } from "../resources/secretReferences.js";
import { desiredUser } from "../resources/userRepresentation.js";
import { classified } from "./classify.js";
import type { ConnectionPool } from "./connections.js";
import { userDependency, userPolicyInput, type Caches } from "./facts.js";
import { cleanupSkipped, type KindHandler } from "./handler.js";
import { checkLivePrivilege } from "./privilegeCheck.js";
import { ownerOf } from "./realmHandler.js";
import { resolveSecretReferences } from "./secrets.js";

export function userHandler(
  caches: Caches,
  pool: ConnectionPool,
  core: CoreV1Api,
  decide: DecideFn,
): KindHandler<KeycloakUser> {
  const realmOf = (user: KeycloakUser): KeycloakRealm | undefined => {
    const ref = realmRefOf(user);
    return caches.realms.get(ref.namespace, ref.name);
  };
  const instanceOf = (realm: KeycloakRealm): KeycloakInstance | undefined => {
    const ref = instanceRefOf(realm);
    return caches.instances.get(ref.namespace, ref.name);
  };
  const realmNameOf = (realm: KeycloakRealm) => realm.status?.realmName ?? realm.spec.realmName;

  return {
    dependency: (user) => userDependency(caches, user),
    policyInput: (user) => userPolicyInput(caches, user),
    async provision(user, log) {
      const realm = realmOf(user);
      if (!realm) throw new TransientError(`KeycloakRealm ${formatKey(realmRefOf(user))} does not exist`);
      const instance = instanceOf(realm);
      if (!instance)
        throw new TransientError(`KeycloakInstance ${formatKey(instanceRefOf(realm))} does not exist`);
      const conn = await pool.forInstance(instance);
      const realmName = realmNameOf(realm);
      const key = objectKey(user);
      const passwordSet = user.status?.passwordInitialized === true;
      const secrets = passwordSet
        ? noSecrets
        : await resolveSecretReferences(
            core,
            user.metadata.namespace ?? "",
            userSecretReferences(user.spec),
            key,
          );
      const desired = desiredUser(user.spec, secrets);
      await classified(`checking the roles user ${user.spec.username} receives`, () =>
        checkLivePrivilege(conn, realmName, userPolicyInput(caches, user), decide),
      );
      const result = await classified(`KeycloakUser ${key}`, () =>
        syncUser(conn, realmName, desired, ownerOf(user), { adopt: user.spec.adopt ?? false }),
      );
      if (result.writes > 0)
        log.info(
          { created: result.created, writes: result.writes, changed: result.changedFields },
          `user ${user.spec.username} synced`,
        );
      return {
        // The same words after a create, an update and a check (see the realm handler).
        message: `User ${user.spec.username} is in sync`,
        status: {
          username: user.spec.username,
          userId: result.userId,
          passwordInitialized: passwordSet || result.passwordInitialized,
        },
      };
    },
    async teardown(user) {
      if ((user.spec.deletionPolicy ?? "Retain") !== "Delete") return;
      const realm = realmOf(user);
      const instance = realm ? instanceOf(realm) : undefined;
      if (!realm || !instance) {
        // Nothing can reach the user once its realm or instance is gone: release it anyway.
        const gone = realm
          ? `the KeycloakInstance of KeycloakRealm ${formatKey(realmRefOf(user))}`
          : `KeycloakRealm ${formatKey(realmRefOf(user))}`;
        return cleanupSkipped(gone, `user ${user.spec.username}`);
      }
      const conn = await pool.forInstance(instance);
      await classified(`deleting user of KeycloakUser ${objectKey(user)}`, () =>
        deleteUser(conn, realmNameOf(realm), user.spec.username, ownerOf(user)),
      );
    },
  };
}
