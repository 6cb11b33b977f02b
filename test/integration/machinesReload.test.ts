// Machines changed in a running operator: a copy of machines/ is handed to `kpo run --machines`,
// its realm retry rule rewritten while a realm backs off, and a broken file written after that.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MACHINES_DIR } from "../../src/lifecycle/paths.js";
import {
  createNamespace,
  deleteRealmOnUnreachableKeycloak,
  group,
  installCrds,
  kubeConfig,
  metricSum,
  Resources,
  startOperatorProcess,
  version,
  waitFor,
  type OperatorProcess,
} from "./support.js";

const REALMS = "keycloakrealms";
const HOUR_MS = 3_600_000;

describe("Lifecycle machines hot-reloaded from --machines", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let operator: OperatorProcess;
  let team: string;
  let machinesDir: string;

  const realmFile = () => path.join(machinesDir, "realm.json");
  const loads = async (result: "success" | "failure") =>
    metricSum(await operator.metrics(), "kpo_machines_loads_total", { result });
  const activeRevision = async () =>
    /kpo_machines_info\{revision="([^"]+)"\} 1/.exec(await operator.metrics())?.[1];
  const msUntilNextAttempt = (o: { status?: Record<string, unknown> }) =>
    Date.parse(String(o.status?.nextAttemptAt)) - Date.now();

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    await installCrds(kc);
    const platform = await createNamespace(kc, "platform");
    team = await createNamespace(kc, "team");
    machinesDir = mkdtempSync(path.join(tmpdir(), "kpo-machines-"));
    cpSync(DEFAULT_MACHINES_DIR, machinesDir, { recursive: true });
    operator = await startOperatorProcess({
      name: "machines",
      extraArgs: ["--machines", machinesDir, "--leader-election-namespace", platform],
    });
  });

  afterAll(async () => {
    await operator?.stop();
    if (machinesDir) rmSync(machinesDir, { recursive: true, force: true });
  });

  it("given a realm whose teardown backs off, when its backoff constants are retuned to 60 minutes, then the next retry is scheduled an hour away; a broken file after that is refused and the new rule keeps running", async () => {
    expect(await loads("success")).toBe(1);
    const startRevision = await activeRevision();
    await deleteRealmOnUnreachableKeycloak(kc, resources, team, "unreachable", "stuck");
    const first = await waitFor("teardown backing off", async () => {
      const o = await resources.get(REALMS, team, "stuck");
      return o.status?.phase === "Deleting" && Number(o.status.attempts ?? 0) >= 1 ? o : false;
    });
    // The shipped rule: 5 s doubling per attempt, capped at 5 minutes.
    expect(msUntilNextAttempt(first)).toBeLessThan(5 * 60_000);

    // Base and cap an hour: every retry waits between 30 and 60 minutes (the jitter factor).
    const doc = JSON.parse(readFileSync(realmFile(), "utf8")) as { constants: Record<string, number> };
    doc.constants.retryBaseDelayMs = HOUR_MS;
    doc.constants.retryMaxDelayMs = HOUR_MS;
    writeFileSync(realmFile(), JSON.stringify(doc, null, 2));
    await waitFor("the rewritten machines swapped in", async () => (await loads("success")) === 2, 30_000);
    const newRevision = await activeRevision();
    expect(newRevision).not.toBe(startRevision);

    // The retry already scheduled runs under the old delay; the one after it under the new one.
    const later = await waitFor("a retry under the new rule", async () => {
      const o = await resources.get(REALMS, team, "stuck");
      return Number(o.status?.attempts ?? 0) > Number(first.status?.attempts ?? 0) &&
        msUntilNextAttempt(o) > 30 * 60_000
        ? o
        : false;
    });
    expect(later.status?.phase).toBe("Deleting");
    expect(msUntilNextAttempt(later)).toBeLessThanOrEqual(HOUR_MS);

    // A broken file: refused, logged naming it, counted; the last good machines keep running.
    writeFileSync(realmFile(), "{ this is not JSON");
    await waitFor("the broken machines refused", async () => (await loads("failure")) === 1, 30_000);
    expect(await activeRevision()).toBe(newRevision);
    expect(await loads("success")).toBe(2);
    const refusal = readFileSync(operator.logFile, "utf8")
      .split("\n")
      .find((l) => l.includes("lifecycle machines refused"));
    expect(refusal).toMatch(/realm\.json/);
    expect(refusal).toMatch(/not valid JSON/);

    // A new realm on the same dead instance backs off by the last good rule: an hour.
    await resources.create(REALMS, team, {
      apiVersion: `${group}/${version}`,
      kind: "KeycloakRealm",
      metadata: { name: "second" },
      spec: { instanceRef: { name: "unreachable" }, realmName: `second-${team}` },
    });
    const second = await waitFor("the second realm backing off", async () => {
      const o = await resources.get(REALMS, team, "second");
      return o.status?.nextAttemptAt ? o : false;
    });
    expect(msUntilNextAttempt(second)).toBeGreaterThan(30 * 60_000);
  });
});
