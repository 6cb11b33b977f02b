// `kpo policy eval` and the operator must put the same question to the policies: for every
// Keycloak object of every example set, the input the CLI builds from the set's files equals the
// one the operator builds from informer caches holding the same objects.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_VERSION, type KeycloakResource } from "../../src/api/index.js";
import { policyInputFromDocuments, readDocuments } from "../../src/cli/policyCommand.js";
import {
  clientPolicyInput,
  instancePolicyInput,
  realmPolicyInput,
  userPolicyInput,
  type Caches,
} from "../../src/operator/facts.js";
import type { PolicyInput } from "../../src/policy/decision.js";
import { cachesOf } from "./caches.js";
import { examplesDir, exampleSets, loadExamples, type Manifest } from "./examples.js";

function operatorInput(caches: Caches, obj: KeycloakResource): PolicyInput {
  if (obj.kind === "KeycloakInstance") return instancePolicyInput(caches, obj);
  if (obj.kind === "KeycloakRealm") return realmPolicyInput(caches, obj);
  if (obj.kind === "KeycloakUser") return userPolicyInput(caches, obj);
  return clientPolicyInput(caches, obj);
}

const sameObject = (a: { kind?: unknown; metadata?: Record<string, unknown> }, b: Manifest) =>
  a.kind === b.kind && a.metadata?.name === b.metadata.name && a.metadata?.namespace === b.metadata.namespace;

/** `kpo policy eval -f <the object> --target <every file of the set>`. */
async function cliInput(files: string[], obj: Manifest): Promise<PolicyInput> {
  const docs = (await Promise.all(files.map((f) => readDocuments(join(examplesDir, f))))).flat();
  const first = docs.find((d) => sameObject(d, obj));
  if (!first) throw new Error(`${obj.kind} ${obj.metadata.name} not read back`);
  return policyInputFromDocuments([first, ...docs.filter((d) => d !== first)], {});
}

const keycloakObjects = (set: Manifest[]) =>
  set.filter((m) => m.apiVersion === API_VERSION) as unknown as (Manifest & KeycloakResource)[];

describe("policy input: CLI and operator", () => {
  const cases = Object.entries(exampleSets).flatMap(([name, files]) =>
    keycloakObjects(loadExamples(files)).map(
      (obj) => [name, `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`, files, obj] as const,
    ),
  );

  it("Given the example sets, when their objects are listed, then every kind is among them", () => {
    expect(new Set(cases.map(([, , , obj]) => obj.kind))).toEqual(
      new Set(["KeycloakInstance", "KeycloakRealm", "KeycloakClient", "KeycloakUser"]),
    );
  });

  it.each(cases)(
    "Given the %s set, when %s is decided by the CLI and by the operator, then both build the same input",
    async (_set, _what, files, obj) => {
      const set = loadExamples(files);
      const fromCaches = operatorInput(cachesOf(set), obj);
      expect(await cliInput(files, obj)).toEqual(fromCaches);
    },
  );

  it("Given clients that name each other's roles and quotas to count, when both build the input, then targets and counts agree", () => {
    const ns = (name: string, labels: Record<string, string> = {}) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels },
    });
    const client = (namespace: string, name: string, spec: Record<string, unknown>, created: string) => ({
      apiVersion: API_VERSION,
      kind: "KeycloakClient",
      metadata: { name, namespace, creationTimestamp: created },
      spec: { realmRef: { name: "shop", namespace: "platform" }, clientId: name, ...spec },
    });
    const set = [
      ns("platform"),
      ns("team-a", { team: "a" }),
      ns("team-b"),
      {
        apiVersion: API_VERSION,
        kind: "KeycloakRealm",
        metadata: { name: "shop", namespace: "platform" },
        spec: {
          instanceRef: { name: "kc" },
          realmName: "shop",
          clientGrants: { namespaces: ["team-a", "team-b"] },
        },
      },
      client("team-b", "orders", { roleGrants: { namespaces: ["team-a"] } }, "2026-01-02T00:00:00Z"),
      client(
        "team-a",
        "web",
        { serviceAccount: { clientRoles: { orders: ["read"], billing: ["pay"] } } },
        "2026-01-03T00:00:00Z",
      ),
      client("team-b", "billing", {}, "2026-01-01T00:00:00Z"),
      client("team-a", "api", {}, "2026-01-03T00:00:00Z"),
    ] as unknown as Manifest[];
    const web = set[5] as unknown as Manifest & KeycloakResource;
    const fromCaches = operatorInput(cachesOf(set), web);
    const fromCli = policyInputFromDocuments([web, ...set.filter((m) => m !== web)] as never, {});
    expect(fromCli).toEqual(fromCaches);
    expect(fromCaches.target.clients?.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([
      "team-b/billing",
      "team-b/orders",
    ]);
    expect(fromCaches.counts).toEqual({ clientsInNamespace: 1, clientsInRealm: 3 });
    expect(fromCaches.namespace.labels).toEqual({ team: "a" });
  });
});
