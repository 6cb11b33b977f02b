import { KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { API_VERSION } from "../api/index.js";
import { cachesOf } from "../../test/unit/caches.js";
import { Informer } from "../kube/informers.js";
import { formatKey, type ObjectKey } from "../kube/objectKey.js";
import { startWatches } from "../kube/watches.js";
import { operatorWatches } from "./watches.js";
import type { Caches } from "./facts.js";
import { usersReferencing } from "./referrers.js";

const realm = (namespace: string, name: string, phase: string, generation = 1) => ({
  apiVersion: API_VERSION,
  kind: "KeycloakRealm",
  metadata: { namespace, name, generation },
  spec: { instanceRef: { name: "main", namespace: "kc" }, realmName: name },
  status: { phase },
});
const user = (
  namespace: string,
  name: string,
  realmRef: { name: string; namespace?: string },
  generation = 1,
) => ({
  apiVersion: API_VERSION,
  kind: "KeycloakUser",
  metadata: { namespace, name, generation },
  spec: { realmRef, username: name },
});

function watchedUsers(objects: readonly { kind?: string }[]) {
  const caches = cachesOf(objects);
  const secrets = new Informer<V1Secret>({
    kubeConfig: new KubeConfig(),
    apiVersion: "v1",
    plural: "secrets",
  });
  const policy = { onChange: (h: (revision: string) => void) => ((publish = h), () => undefined) };
  let publish: (revision: string) => void = () => undefined;
  const queued: string[] = [];
  const stop = startWatches(
    { enqueue: (key: ObjectKey) => queued.push(formatKey(key)) },
    operatorWatches({ ...caches, credentialSecrets: secrets, watchedSecrets: secrets, policy }).user,
  );
  return { caches, queued, publish: (r: string) => publish(r), stop };
}

describe("the KeycloakUser watch table", () => {
  it("Given users of two realms, When one realm changes phase, Then only its users are queued", () => {
    const w = watchedUsers([
      realm("iam", "apps", "Pending"),
      realm("iam", "other", "Ready"),
      user("team", "bot", { name: "apps", namespace: "iam" }),
      user("team", "tester", { name: "other", namespace: "iam" }),
      user("iam", "local", { name: "apps" }),
    ]);
    w.caches.realms.upsert(realm("iam", "apps", "Ready") as never);
    expect([...new Set(w.queued)].sort()).toEqual(["iam/local", "team/bot"]);
    w.stop();
  });

  it("Given a user, When its spec changes or the policy bundle changes, Then it is queued", () => {
    const w = watchedUsers([user("team", "bot", { name: "apps", namespace: "iam" })]);
    w.caches.users.upsert(user("team", "bot", { name: "apps", namespace: "iam" }, 2) as never);
    expect(w.queued).toEqual(["team/bot"]);
    w.publish("rev-2");
    expect(w.queued).toEqual(["team/bot", "team/bot"]);
    w.stop();
  });

  it("Given a realm whose deletion waits for its users, When one of them is deleted, Then the realm is queued to try again", () => {
    const caches = cachesOf([
      realm("iam", "apps", "Deleting"),
      user("team", "bot", { name: "apps", namespace: "iam" }),
    ]);
    const secrets = new Informer<V1Secret>({
      kubeConfig: new KubeConfig(),
      apiVersion: "v1",
      plural: "secrets",
    });
    const queued: string[] = [];
    const stop = startWatches(
      { enqueue: (key: ObjectKey) => queued.push(formatKey(key)) },
      operatorWatches({
        ...caches,
        credentialSecrets: secrets,
        watchedSecrets: secrets,
        policy: { onChange: () => () => undefined },
      }).realm,
    );
    caches.users.remove(user("team", "bot", { name: "apps", namespace: "iam" }) as never);
    expect(queued).toContain("iam/apps");
    stop();
  });
});

describe("usersReferencing", () => {
  it("Given users that were admitted or provisioned and one never admitted, Then only the first two hold the realm's deletion", () => {
    const apps = realm("iam", "apps", "Deleting");
    const admitted = {
      ...user("team", "bot", { name: "apps", namespace: "iam" }),
      status: { conditions: [{ type: "PolicyCompliant", status: "True" }] },
    };
    const provisioned = {
      ...user("team", "old", { name: "apps", namespace: "iam" }),
      status: { userId: "u-1" },
    };
    const denied = {
      ...user("evil", "squatter", { name: "apps", namespace: "iam" }),
      status: { conditions: [{ type: "PolicyCompliant", status: "False" }] },
    };
    const elsewhere = {
      ...admitted,
      spec: { ...admitted.spec, realmRef: { name: "other", namespace: "iam" } },
    };
    const caches = { users: { list: () => [admitted, provisioned, denied, elsewhere] } } as unknown as Caches;
    expect(usersReferencing(caches, apps as never).map((u) => u.metadata.name)).toEqual(["bot", "old"]);
  });
});
