// The engine's two shortcuts must not change a single decision: the direct opa_eval path against
// opa-wasm's own evaluate(), and the operator-computed input.namespaceRefs against the policy's own
// walk of the spec (what an input built by hand gets).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { compactInput, inputJson, namespaceRefs } from "../../src/policy/compactInput.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import { directEvaluator, libraryEvaluator, type JsonEvaluator } from "../../src/policy/wasmEvaluate.js";
import { realPolicyBundle } from "./policyBundle.js";

let policy: LoadedPolicy;
let direct: JsonEvaluator;
let library: JsonEvaluator;

beforeAll(async () => {
  const dir = realPolicyBundle();
  policy = await loadPolicy(readFileSync(join(dir, "policy.wasm")));
  policy.setData(JSON.parse(readFileSync(join(dir, "data.json"), "utf8")) as object);
  const entrypoint = (policy.entrypoints as Record<string, number>)["kpo/decision"]!;
  const fast = directEvaluator(policy, entrypoint);
  if (!fast) throw new Error("the pinned opa-wasm no longer exposes what the direct evaluator needs");
  direct = fast;
  library = libraryEvaluator(policy, entrypoint);
}, 60_000);

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

const resultOf = (evaluate: JsonEvaluator, json: string): unknown => evaluate(json);

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
      const withFact = resultOf(direct, JSON.stringify(compacted));
      expect(resultOf(direct, JSON.stringify(withoutRefs))).toEqual(withFact);
    },
  );

  it("Given a Secret reference to another namespace, when decided through the fact, then it is denied naming the field", () => {
    const [{ result }] = direct(inputJson(client(specs[2]!))) as [
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

describe("directEvaluator", () => {
  it.each(specs.map((spec, i) => [i, spec] as const))(
    "Given spec #%i, when evaluated directly, then the result equals opa-wasm's evaluate()",
    (_i, spec) => {
      const json = inputJson(client(spec));
      expect(direct(json)).toEqual(library(json));
    },
  );

  it("Given non-ASCII text, when evaluated directly, then it reaches the policy intact", () => {
    const json = inputJson(client({ secret: { name: "s", namespace: "ns-ü-😀" } }, "wéb-😀"));
    const decided = direct(json);
    expect(decided).toEqual(library(json));
    expect(JSON.stringify(decided)).toContain('namespace is \\"ns-ü-😀\\"');
    expect(JSON.stringify(decided)).toContain("KeycloakClient team-a/wéb-😀");
  });

  it("Given an input larger than the wasm memory, when evaluated directly, then memory grows and later calls still agree", () => {
    const before = (policy as unknown as { mem: { buffer: ArrayBuffer } }).mem.buffer.byteLength;
    const uris = Array.from({ length: 40_000 }, (_, i) => `https://host-${i}.example.com/callback`);
    const big = inputJson(client({ redirectUris: uris, secret: { name: "s", namespace: "other" } }));
    expect(big.length).toBeGreaterThan(before);
    const decided = direct(big) as [{ result: { violations: { code: string }[] } }];
    expect(decided[0].result.violations.map((v) => v.code)).toEqual(["CrossNamespaceSecretRef"]);
    const small = inputJson(client({}));
    expect(direct(small)).toEqual(library(small));
  });
});
