import { ApiException, type CustomObjectsApi } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { AuditFinding } from "../policy/audit.js";
import { buildPolicyReports, type PolicyReport } from "../policy/reports.js";
import { PolicyReportWriter } from "./policyReports.js";

const finding = (namespace: string, name: string): AuditFinding => ({
  resource: { apiVersion: "keycloak.kpo.dev/v1alpha1", kind: "KeycloakRealm", namespace, name },
  operation: "update",
  decision: { allowed: true, violations: [], warnings: [] },
});

/** An API server holding PolicyReports in memory, counting writes; `missing` answers 404 like an absent CRD. */
function fakeApi(opts: { missing?: boolean } = {}) {
  const stored = new Map<string, PolicyReport>();
  const calls = { lists: 0, writes: 0 };
  let version = 0;
  const notFound = () => new ApiException(404, "Not Found", {}, {});
  const keep = (key: string, body: PolicyReport) => {
    calls.writes++;
    stored.set(key, { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } });
    return Promise.resolve({});
  };
  const api = {
    listClusterCustomObject: () => {
      calls.lists++;
      if (opts.missing) return Promise.reject(notFound());
      return Promise.resolve({ items: [...stored].filter(([k]) => k !== "").map(([, v]) => v) });
    },
    getClusterCustomObject: () =>
      stored.has("") ? Promise.resolve(stored.get("")) : Promise.reject(notFound()),
    createClusterCustomObject: ({ body }: { body: PolicyReport }) => keep("", body),
    replaceClusterCustomObject: ({ body }: { body: PolicyReport }) => keep("", body),
    createNamespacedCustomObject: ({ namespace, body }: { namespace: string; body: PolicyReport }) =>
      keep(namespace, body),
    replaceNamespacedCustomObject: ({ namespace, body }: { namespace: string; body: PolicyReport }) =>
      keep(namespace, body),
    deleteNamespacedCustomObject: ({ namespace }: { namespace: string }) => {
      calls.writes++;
      stored.delete(namespace);
      return Promise.resolve({});
    },
  };
  return { api: api as unknown as CustomObjectsApi, stored, calls };
}

const log = pino({ level: "silent" });
const build = (findings: AuditFinding[]) => (previous: Map<string, PolicyReport>) =>
  buildPolicyReports(findings, { revision: "r1", policies: ["quota"], now: new Date(), previous });

describe("PolicyReportWriter", () => {
  it("given reports written once, when the same findings are written again, then nothing is written; a namespace whose resources went loses its report", async () => {
    const { api, stored, calls } = fakeApi();
    let clock = 0;
    const writer = new PolicyReportWriter({ api, log, namespaces: [], recheckMs: 1000, now: () => clock });
    const first = await writer.write(build([finding("a", "x"), finding("b", "y")]));
    expect(first).toMatchObject({ written: true, creates: 3, replaces: 0, deletes: 0 });
    expect([...stored.keys()].sort()).toEqual(["", "a", "b"]);
    const versions = [...stored.values()].map((r) => r.metadata.resourceVersion);

    clock += 60_000;
    const again = await writer.write(build([finding("a", "x"), finding("b", "y")]));
    expect(again).toMatchObject({ written: true, creates: 0, replaces: 0, deletes: 0 });
    expect([...stored.values()].map((r) => r.metadata.resourceVersion)).toEqual(versions);

    const fewer = await writer.write(build([finding("a", "x")]));
    expect(fewer).toMatchObject({ replaces: 1, deletes: 1 }); // the cluster summary, b's report
    expect([...stored.keys()].sort()).toEqual(["", "a"]);
    expect(calls.writes).toBe(5);
  });

  it("given the CRDs absent, when written repeatedly, then it resolves without writing, looks again only after recheckMs and warns once", async () => {
    const { api, calls } = fakeApi({ missing: true });
    const lines: string[] = [];
    const recording = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    let clock = 0;
    const writer = new PolicyReportWriter({
      api,
      log: recording,
      namespaces: [],
      recheckMs: 1000,
      now: () => clock,
    });
    for (let i = 0; i < 5; i++) expect((await writer.write(build([finding("a", "x")]))).written).toBe(false);
    expect(calls.lists).toBe(1);
    clock += 1001;
    await writer.write(build([finding("a", "x")]));
    expect(calls.lists).toBe(2);
    expect(calls.writes).toBe(0);
    expect(lines.filter((l) => l.includes("PolicyReports not written"))).toHaveLength(1);
  });
});
