// The operator under failure: Keycloak unreachable (retries back off, no request storm, recovery),
// the operator SIGKILLed mid-way and restarted (converges, nothing duplicated), and two replicas
// behind leader election (only the leader reconciles; the standby takes over when it dies).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import {
  adminClient,
  createInstance,
  condition,
  createNamespace,
  installCrds,
  kubeConfig,
  metricSum,
  Resources,
  startOperatorProcess,
  startTcpProxy,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";

function instanceVia(
  kc: k8s.KubeConfig,
  resources: Resources,
  namespace: string,
  url: string,
): Promise<void> {
  return createInstance(kc, resources, namespace, "kc", {}, url);
}

const realm = (name: string, realmName: string) => ({
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakRealm",
  metadata: { name },
  spec: { instanceRef: { name: "kc" }, realmName, displayName: name },
});

// Each case starts operators and waits out backoffs or a 15 s lease: minutes, not seconds.
describe("operator resilience", { timeout: 300_000 }, () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  const operators: OperatorProcess[] = [];

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    await installCrds(kc);
  });

  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop("SIGKILL")));
  });

  it("given Keycloak becomes unreachable, then the realm goes Degraded with backoff instead of a request storm, and recovers when Keycloak is back", async () => {
    const ns = await createNamespace(kc, "outage");
    const proxy = await startTcpProxy(inject("keycloak").url);
    const op = await startOperatorProcess({
      name: "outage",
      extraArgs: ["--leader-election", "false", "--resync-period-ms", "2000"],
    });
    operators.push(op);
    await instanceVia(kc, resources, ns, proxy.url);
    await resources.create(REALMS, ns, realm("r", `outage-${ns}`));
    await resources.waitForStatus(REALMS, ns, "r", (o) => o.status?.phase === "Ready");

    await proxy.close();
    const degraded = await resources.waitForStatus(
      REALMS,
      ns,
      "r",
      (o) => o.status?.phase === "Degraded" || o.status?.phase === "Failed",
      60_000,
    );
    expect(condition(degraded, "Ready")?.status).toBe("False");
    expect(degraded.status?.nextAttemptAt ?? "").not.toBe("");

    // Over 15 s of outage the attempts are few: backoff and the circuit breaker hold them back.
    const attempts = async () =>
      metricSum(await op.metrics(), "kpo_keycloak_requests_total", { code: "error" });
    const before = await attempts();
    await new Promise((r) => setTimeout(r, 15_000));
    const during = (await attempts()) - before;
    expect(during).toBeLessThan(20);

    await proxy.open();
    await resources.waitForStatus(REALMS, ns, "r", (o) => o.status?.phase === "Ready", 120_000);
    await proxy.close();
  });

  it("given the operator is SIGKILLed while realms are being created, when it restarts, then everything converges and nothing is duplicated", async () => {
    const ns = await createNamespace(kc, "crash");
    const first = await startOperatorProcess({ name: "crash-1", extraArgs: ["--leader-election", "false"] });
    await instanceVia(kc, resources, ns, inject("keycloak").url);
    // Five: the default quota of realms per namespace (policies/data.json).
    const names = Array.from({ length: 5 }, (_, i) => `r${i}`);
    for (const n of names) await resources.create(REALMS, ns, realm(n, `${n}-${ns}`));
    // Kill it as soon as the first realm reached Keycloak, while the others are in flight.
    await resources.waitForStatus(REALMS, ns, "r0", (o) => o.status?.phase === "Ready");
    await first.stop("SIGKILL");

    const second = await startOperatorProcess({ name: "crash-2", extraArgs: ["--leader-election", "false"] });
    operators.push(second);
    for (const n of names) await resources.waitForStatus(REALMS, ns, n, (o) => o.status?.phase === "Ready");
    const admin = await adminClient();
    const all = await admin.realms.find();
    for (const n of names) expect(all.filter((r) => r.realm === `${n}-${ns}`)).toHaveLength(1);
    await second.stop();
  });

  it("given two replicas, then only the leader reconciles, and when it dies without releasing the lease the standby takes over", async () => {
    const ns = await createNamespace(kc, "ha");
    const args = ["--leader-election-namespace", ns, "--leader-election-id", "kpo-ha"];
    const a = await startOperatorProcess({ name: "ha-a", extraArgs: args });
    operators.push(a);
    await waitFor("a leads", async () => metricSum(await a.metrics(), "leader_election_master_status") === 1);
    const b = await startOperatorProcess({ name: "ha-b", extraArgs: args });
    operators.push(b);

    await instanceVia(kc, resources, ns, inject("keycloak").url);
    await resources.create(REALMS, ns, realm("first", `first-${ns}`));
    await resources.waitForStatus(REALMS, ns, "first", (o) => o.status?.phase === "Ready");
    expect(metricSum(await b.metrics(), "leader_election_master_status")).toBe(0);
    expect(metricSum(await b.metrics(), "controller_runtime_reconcile_total")).toBe(0);
    expect(metricSum(await a.metrics(), "controller_runtime_reconcile_total")).toBeGreaterThan(0);

    // Dies without releasing: the standby must wait out the 15 s lease, then lead.
    await a.stop("SIGKILL");
    const killedAt = Date.now();
    await resources.create(REALMS, ns, realm("second", `second-${ns}`));
    await waitFor(
      "b leads",
      async () => metricSum(await b.metrics(), "leader_election_master_status") === 1,
      40_000,
    );
    const takeoverSeconds = (Date.now() - killedAt) / 1000;
    await resources.waitForStatus(REALMS, ns, "second", (o) => o.status?.phase === "Ready");
    // The status is written inside the reconcile and the counter moves when it returns: poll briefly.
    await waitFor(
      "b counts its reconciles",
      async () => metricSum(await b.metrics(), "controller_runtime_reconcile_total") > 0,
      10_000,
    );
    // Recorded for the reader; the bound is the lease duration plus the retry period and slack.
    console.log(`standby took over ${takeoverSeconds.toFixed(1)} s after the leader was killed`);
    expect(takeoverSeconds).toBeLessThan(40);
  });
});
