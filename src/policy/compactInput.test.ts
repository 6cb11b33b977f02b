import { describe, expect, it } from "vitest";
import { clientInput } from "../../test/unit/policyInputs.js";
import { compactInput } from "./compactInput.js";
import type { PolicyInput } from "./decision.js";

describe("compactInput", () => {
  it("Given a resource as the API server returns it, when compacted, then server bookkeeping is dropped and policy fields stay", () => {
    const input = clientInput();
    input.resource.metadata = {
      name: "web",
      namespace: "team-a",
      labels: { app: "web" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", "team.example/owner": "a" },
      managedFields: [{ manager: "kubectl", fieldsV1: {} }],
      uid: "1234",
      resourceVersion: "99",
    };
    (input.resource as Record<string, unknown>).status = { phase: "Ready" };
    const compact = compactInput(input);
    expect(compact.resource).toEqual({
      apiVersion: "keycloak.kpo.dev/v1alpha1",
      kind: "KeycloakClient",
      metadata: {
        name: "web",
        namespace: "team-a",
        labels: { app: "web" },
        annotations: { "team.example/owner": "a" },
      },
      spec: input.resource.spec,
    });
    expect(compact.target.realm).toEqual(input.target.realm);
    expect(compact.namespace).toBe(input.namespace);
    expect(compact.counts).toBe(input.counts);
  });

  it("Given a malformed input, when compacted, then it passes through unchanged for the policy to refuse", () => {
    const malformed = { kind: "KeycloakClient" } as unknown as PolicyInput;
    expect(compactInput(malformed)).toBe(malformed);
  });

  it("Given a Namespace applied with kubectl, when compacted, then its last-applied copy is dropped and other annotations stay", () => {
    const input = clientInput();
    input.namespace = {
      name: "team-a",
      labels: { team: "a" },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"v1","kind":"Namespace"}',
        "kpo.dev/max-clients-per-namespace": "3",
      },
    };
    expect(compactInput(input).namespace).toEqual({
      name: "team-a",
      labels: { team: "a" },
      annotations: { "kpo.dev/max-clients-per-namespace": "3" },
    });
    expect(input.namespace.annotations).toHaveProperty(["kubectl.kubernetes.io/last-applied-configuration"]);
  });

  it("Given a spec with a namespaced reference, when compacted, then namespaceRefs lists it for the policies", () => {
    const input = clientInput();
    input.resource.spec = { ...input.resource.spec, secret: { name: "s", namespace: "other" } };
    expect(compactInput(input).namespaceRefs).toContainEqual({ path: ["secret"], namespace: "other" });
  });
});
