// End to end, the deletion paths that must not leave a resource stuck: the operator runs as its own
// process against the real kube-apiserver and Keycloak, and the test deletes resources the way a
// user does and reads their status, their events and Keycloak's admin API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import { freePort } from "../../src/testenv/ports.js";
import {
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";

describe("Deletion against a real API server and Keycloak", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let operator: OperatorProcess;
  let platform: string;
  let team: string;

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    await installCrds(kc);
    platform = await createNamespace(kc, "platform");
    team = await createNamespace(kc, "team");
    operator = await startOperatorProcess({
      name: "deletion",
      extraArgs: ["--leader-election-namespace", platform],
    });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("given a realm whose teardown backs off (its Keycloak is unreachable), when deletionPolicy is set to Retain, then it is released at once, not at the next retry", async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    await createInstance(kc, resources, team, "unreachable", {}, nowhere);
    await resources.create(REALMS, team, {
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakRealm",
      metadata: { name: "stuck" },
      spec: { instanceRef: { name: "unreachable" }, realmName: `stuck-${team}`, deletionPolicy: "Delete" },
    });
    await resources.waitForStatus(REALMS, team, "stuck", (o) =>
      ["Pending", "Degraded"].includes(o.status?.phase ?? ""),
    );
    await resources.delete(REALMS, team, "stuck");
    // After the 4th failed teardown the next retry is 20-40 s away (machines/realm.json).
    const backingOff = await waitFor("teardown backing off", async () => {
      const o = await resources.get(REALMS, team, "stuck");
      return o.status?.phase === "Deleting" && Number(o.status.attempts ?? 0) >= 4 ? o : false;
    });
    expect(Date.parse(String(backingOff.status?.nextAttemptAt)) - Date.now()).toBeGreaterThan(15_000);

    await resources.patchSpec(REALMS, team, "stuck", { deletionPolicy: "Retain" });
    // A bound well below the pending backoff: released by the spec change, not by the timer.
    await waitFor(
      "realm released after the spec change",
      () => resources.gone(REALMS, team, "stuck"),
      10_000,
    );
  });
});
