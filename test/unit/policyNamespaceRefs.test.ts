// input.namespaceRefs, computed by the engine, must not change a single decision: the policy's own
// walk of the spec (what an input built by hand gets) has to decide the same.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { compactInput, encodeInput, namespaceRefs } from "../../src/policy/compactInput.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import { realPolicyBundle } from "./policyBundle.js";

let policy: LoadedPolicy;
let entrypoint: number;

beforeAll(async () => {
  const dir = realPolicyBundle();
  policy = await loadPolicy(readFileSync(join(dir, "policy.wasm")));
  policy.setData(JSON.parse(readFileSync(join(dir, "data.json"), "utf8")) as object);
  entrypoint = (policy.entrypoints as Record<string, number>)["kpo/decision"]!;
}, 60_000);

/** The raw result set for an input document given as is (no compaction, no added facts). */
const evaluateAsIs = (doc: unknown): unknown => policy.evaluate(doc, entrypoint) as unknown;

function client(spec: Record<string, unknown>, name = "web"): PolicyInput {
  return {
    operation: "create",
    kind: "KeycloakClient",
    resource: { metadata: { name, namespace: "team-a" }, spec: { realmRef: { name: "shop" }, ...spec } },
    namespace: { name: "team-a", labels: { "kpo.dev/environment": "production" }, annotations: {} },
    target: { realm: { metadata: { name: "shop", namespace: "team-a" }, spec: {} } },
    counts: { clientsInNamespace: 1, clientsInRealm: 1 },
    environment: {},
  };
}

const specs: Record<string, unknown>[] = [
  {},
  { secret: { name: "s", namespace: "kube-system" } },
  {
    idps: [{ clientSecret: { name: "s", namespace: "x" } }, { other: { namespace: "team-a" } }],
    smtp: { auth: { passwordSecretKeyRef: { name: "m", namespace: "y" } } },
    configMapRef: { name: "c", namespace: "elsewhere" },
  },
  { redirectUris: ["http://a.example.com/*"], publicClient: true, implicitFlowEnabled: true },
  { serviceAccount: { realmRoles: ["realm-admin"], clientRoles: { "realm-management": ["view-users"] } } },
];

describe("namespaceRefs", () => {
  it("Given a spec, when listed, then every object below it with a namespace key is found with its path", () => {
    expect(namespaceRefs(specs[2])).toEqual([
      { path: ["idps", 0, "clientSecret"], namespace: "x" },
      { path: ["idps", 1, "other"], namespace: "team-a" },
      { path: ["smtp", "auth", "passwordSecretKeyRef"], namespace: "y" },
      { path: ["configMapRef"], namespace: "elsewhere" },
    ]);
    expect(namespaceRefs({ namespace: "top-level-is-not-a-reference" })).toEqual([]);
    expect(namespaceRefs(undefined)).toEqual([]);
  });

  it.each(specs.map((spec, i) => [i, spec] as const))(
    "Given spec #%i, when decided with the operator's namespaceRefs and with the policy's own walk, then the decisions are equal",
    (_i, spec) => {
      const compacted = compactInput(client(spec));
      expect(compacted.namespaceRefs).toBeDefined();
      const { namespaceRefs: _refs, ...withoutRefs } = compacted;
      expect(evaluateAsIs(withoutRefs)).toEqual(evaluateAsIs(compacted));
    },
  );

  it("Given a Secret reference to another namespace, when decided through the fact, then it is denied naming the field", () => {
    const [{ result }] = policy.evaluate(encodeInput(client(specs[2]!)), entrypoint) as [
      { result: { violations: { code: string; message: string }[] } },
    ];
    const messages = result.violations
      .filter((v) => v.code === "CrossNamespaceSecretRef")
      .map((v) => v.message);
    expect(messages).toHaveLength(2);
    expect(messages.join("\n")).toContain('spec.idps.0.clientSecret.namespace is "x"');
    expect(messages.join("\n")).toContain('spec.smtp.auth.passwordSecretKeyRef.namespace is "y"');
  });
});
