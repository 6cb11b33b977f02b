// The webhook and the reconciler must put the same question to the policies: for every Keycloak
// object of every example set, the webhook's answer to its AdmissionReview (create: the caches
// hold the rest of the set; update: they hold the object too) is the reconciler's decision over
// caches holding the whole set, mapped to an admission response.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, GROUP, VERSION, type KeycloakResource } from "../../src/api/index.js";
import { decisionResponse, type AdmissionRequest } from "../../src/admission/review.js";
import { admissionValidator } from "../../src/admission/validator.js";
import {
  realmPolicyInput,
  clientPolicyInput,
  instancePolicyInput,
  userPolicyInput,
  type Caches,
} from "../../src/operator/facts.js";
import { createPolicyEngine, type PolicyEngine } from "../../src/policy/engine.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import { cachesOf } from "./caches.js";
import { exampleSets, loadExamples, type Manifest } from "./examples.js";
import { realPolicyBundle } from "./policyBundle.js";

/** What the reconciler's handlers build (src/operator/*Handler.ts policyInput). */
function reconcilerInput(caches: Caches, obj: KeycloakResource): PolicyInput {
  if (obj.kind === "KeycloakInstance") return instancePolicyInput(caches, obj);
  if (obj.kind === "KeycloakRealm") return realmPolicyInput(caches, obj);
  if (obj.kind === "KeycloakUser") return userPolicyInput(caches, obj);
  return clientPolicyInput(caches, obj);
}

function review(
  obj: KeycloakResource,
  operation: "CREATE" | "UPDATE",
  oldObject?: unknown,
): AdmissionRequest {
  return {
    uid: `uid-${obj.metadata.name}`,
    kind: { group: GROUP, version: VERSION, kind: obj.kind },
    operation,
    namespace: obj.metadata.namespace ?? "",
    object: obj,
    ...(oldObject ? { oldObject } : {}),
  };
}

const keycloakObjects = (set: Manifest[]) =>
  set.filter((m) => m.apiVersion === API_VERSION) as unknown as (Manifest & KeycloakResource)[];

let engine: PolicyEngine;
beforeAll(async () => {
  engine = await createPolicyEngine({ bundleDir: realPolicyBundle() });
});
afterAll(() => engine.close());

describe("admission webhook and reconciler: one decision", () => {
  const cases = Object.entries(exampleSets).flatMap(([name, files]) =>
    keycloakObjects(loadExamples(files)).map(
      (obj) => [name, `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`, files, obj] as const,
    ),
  );

  it("Given the example sets, then some of their objects are denied and some allowed, of every kind", () => {
    expect(new Set(cases.map(([, , , obj]) => obj.kind)).size).toBe(4);
  });

  it.each(cases)(
    "Given the %s set, when %s is created and then updated, then the webhook decides as the reconciler",
    async (_set, _what, files, obj) => {
      const set = loadExamples(files);
      const reconciled = engine.decide(reconcilerInput(cachesOf(set), obj));

      const others = set.filter((m) => m !== (obj as unknown as Manifest));
      const create = await admissionValidator({ caches: cachesOf(others), decide: engine.decide }).validate(
        review(obj, "CREATE"),
      );
      expect(create.decision).toEqual(reconciled);
      expect(create.response).toEqual(decisionResponse(`uid-${obj.metadata.name}`, reconciled));

      const changed = { ...obj, spec: { ...obj.spec, __previous: true } };
      const update = await admissionValidator({ caches: cachesOf(set), decide: engine.decide }).validate(
        review(obj, "UPDATE", changed),
      );
      expect(update.decision).toEqual(reconciled);
      expect(update.response.allowed).toBe(create.response.allowed);
    },
  );

  it("Given the production (denied) set, when its objects are reviewed, then at least one is refused with the policy's message", async () => {
    const set = loadExamples(exampleSets["production (denied)"]!);
    const validator = admissionValidator({ caches: cachesOf(set), decide: engine.decide });
    const refused = [];
    for (const obj of keycloakObjects(set)) {
      const outcome = await validator.validate(review(obj, "CREATE"));
      if (!outcome.response.allowed) refused.push(outcome);
    }
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) {
      const enforced = outcome.decision!.violations.filter((v) => v.enforcement === "enforce");
      for (const v of enforced) expect(outcome.response.status?.message).toContain(v.message);
      expect(outcome.response.status).toMatchObject({ code: 403, reason: "Forbidden" });
    }
  });
});

describe("admission webhook: enforcement modes", () => {
  const ns = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: {} } });
  const instance = {
    apiVersion: API_VERSION,
    kind: "KeycloakInstance",
    metadata: { name: "kc", namespace: "platform" },
    spec: { external: { url: "https://kc.example" }, realmGrants: { namespaces: ["granted"] } },
  };
  const realm = (namespace: string) =>
    ({
      apiVersion: API_VERSION,
      kind: "KeycloakRealm",
      metadata: { name: "r", namespace },
      spec: { instanceRef: { name: "kc", namespace: "platform" }, realmName: `r-${namespace}` },
    }) as unknown as KeycloakResource;
  let modes: PolicyEngine;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "kpo-admission-modes-"));
    const data = join(dir, "data.json");
    writeFileSync(
      data,
      JSON.stringify({
        kpo: {
          namespaceEnforcement: { warned: { authorization: "warn" }, recorded: { authorization: "dryrun" } },
        },
      }),
    );
    modes = await createPolicyEngine({ bundleDir: realPolicyBundle(), dataOverrideFile: data });
  });
  afterAll(() => modes.close());
  const set = [ns("platform"), ns("granted"), ns("denied"), ns("warned"), ns("recorded"), instance];

  it("Given enforce, warn and dryrun namespaces, when a realm not granted is created in each, then denied, allowed with the message as a warning, and allowed silently", async () => {
    const validator = admissionValidator({ caches: cachesOf(set), decide: modes.decide });
    const granted = await validator.validate(review(realm("granted"), "CREATE"));
    expect(granted).toMatchObject({ result: "allowed", response: { allowed: true } });
    expect(granted.response.warnings).toBeUndefined();

    const denied = await validator.validate(review(realm("denied"), "CREATE"));
    expect(denied.result).toBe("denied");
    expect(denied.response.status?.message).toContain('namespace "denied" may not create realms');

    const warned = await validator.validate(review(realm("warned"), "CREATE"));
    expect(warned.result).toBe("warned");
    expect(warned.response.allowed).toBe(true);
    expect(warned.response.warnings?.join("\n")).toContain('namespace "warned" may not create realms');

    const recorded = await validator.validate(review(realm("recorded"), "CREATE"));
    expect(recorded.result).toBe("dryrun");
    expect(recorded.response).toEqual({ uid: "uid-r", allowed: true });
  });

  it("Given a realm whose instance does not exist, when it is created, then it is allowed with a warning (the reconcile decides once it exists)", async () => {
    const validator = admissionValidator({ caches: cachesOf([ns("granted")]), decide: modes.decide });
    const outcome = await validator.validate(review(realm("granted"), "CREATE"));
    expect(outcome.decision?.violations.map((v) => v.code)).toEqual(["InstanceNotFound"]);
    expect(outcome.response.allowed).toBe(true);
    expect(outcome.response.warnings?.[0]).toContain("does not name a known KeycloakInstance");
  });

  it("Given a namespace the caches do not hold yet, when a realm in it is created, then its labels are read live", async () => {
    const labelled = {
      ...instance,
      spec: { ...instance.spec, realmGrants: { namespaceSelector: { matchLabels: { team: "a" } } } },
    };
    const caches = cachesOf([ns("platform"), labelled]);
    const fromCaches = admissionValidator({ caches, decide: modes.decide });
    expect((await fromCaches.validate(review(realm("fresh"), "CREATE"))).response.allowed).toBe(false);
    const live = admissionValidator({
      caches,
      decide: modes.decide,
      live: {
        namespace: (name) => Promise.resolve({ name, labels: { team: "a" }, annotations: {} }),
        instance: () => Promise.resolve(undefined),
        realm: () => Promise.resolve(undefined),
      },
    });
    expect((await live.validate(review(realm("fresh"), "CREATE"))).response.allowed).toBe(true);
  });

  it("Given a denied realm, when an update changes only its finalizers or it is being deleted, then it is allowed undecided", async () => {
    const validator = admissionValidator({ caches: cachesOf(set), decide: modes.decide });
    const denied = realm("denied");
    const withFinalizer = {
      ...denied,
      metadata: { ...denied.metadata, finalizers: ["keycloak.kpo.dev/finalizer"] },
    };
    expect(await validator.validate(review(withFinalizer, "UPDATE", denied))).toMatchObject({
      result: "skipped",
      response: { allowed: true },
    });
    const deleting = { ...denied, metadata: { ...denied.metadata, deletionTimestamp: new Date() } };
    expect((await validator.validate(review(deleting, "UPDATE", { ...denied, spec: {} }))).result).toBe(
      "skipped",
    );
    const relabelled = { ...denied, metadata: { ...denied.metadata, labels: { a: "b" } } };
    expect((await validator.validate(review(relabelled, "UPDATE", denied))).result).toBe("denied");
  });
});
