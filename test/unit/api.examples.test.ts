// Every example must be accepted by the CRD schemas (CEL rules excepted: the API server checks
// those) and hang together: references resolve, referenced Secrets and keys exist, and each realm
// and client sits in a namespace its instance or realm grants.
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  instanceRefOf,
  realmRefOf,
  type KeycloakResource,
  type NamespaceGrants,
} from "../../src/api/index.js";
import { createResourceValidator } from "../../src/api/validate.js";
import { realmSecretReferences } from "../../src/resources/secretReferences.js";
import {
  allExampleFiles as allFiles,
  examplesDir,
  exampleSets as sets,
  loadExamples as load,
  type Manifest,
} from "./examples.js";

const validate = createResourceValidator();

function find(set: Manifest[], kind: string, name: string, namespace: string): Manifest | undefined {
  return set.find((m) => m.kind === kind && m.metadata.name === name && m.metadata.namespace === namespace);
}

function labelsOf(set: Manifest[], namespace: string): Record<string, string> {
  return set.find((m) => m.kind === "Namespace" && m.metadata.name === namespace)?.metadata.labels ?? {};
}

/** The authorization policy's grant rule: own namespace, listed by name, or matched by the selector. */
function granted(
  owner: Manifest,
  grants: NamespaceGrants | undefined,
  namespace: string,
  labels: Record<string, string>,
) {
  if (owner.metadata.namespace === namespace) return true;
  if (grants?.namespaces?.includes(namespace)) return true;
  const selector = grants?.namespaceSelector;
  if (selector === undefined) return false;
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressionsMatch = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    if (e.operator === "In") return value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === "NotIn") return value === undefined || !(e.values ?? []).includes(value);
    return e.operator === "Exists" ? value !== undefined : value === undefined;
  });
  return labelsMatch && expressionsMatch;
}

/** The keys of a Secret of the set, or of the credentials Secret a confidential client of the set writes. */
function secretKeys(set: Manifest[], name: string, namespace: string): string[] {
  const secret = find(set, "Secret", name, namespace);
  const writtenBy = set.find((m) => {
    if (m.kind !== "KeycloakClient" || m.metadata.namespace !== namespace) return false;
    const spec = m.spec as { publicClient?: boolean; secret?: { name?: string } } | undefined;
    return spec?.publicClient === false && (spec.secret?.name ?? `${m.metadata.name}-credentials`) === name;
  });
  const written = writtenBy === undefined ? [] : ["client-id", "client-secret"];
  return [...Object.keys({ ...secret?.data, ...secret?.stringData }), ...written];
}

describe("examples", () => {
  it("Given the examples directory, when listed, then every set has files and every file belongs to a set", () => {
    const inSets = new Set(Object.values(sets).flat());
    expect(allFiles.filter((f) => !inSets.has(f))).toEqual([]);
    for (const [name, files] of Object.entries(sets)) expect(files.length, name).toBeGreaterThan(0);
  });

  it.each(allFiles)("Given %s, when validated against the CRD schemas, then it is accepted", (file) => {
    const keycloak = load([file]).filter((m) => m.apiVersion.startsWith("keycloak.kpo.dev/"));
    for (const manifest of keycloak) {
      expect(manifest.apiVersion).toBe(API_VERSION);
      expect(
        manifest.metadata.namespace,
        `${manifest.kind} ${manifest.metadata.name} needs a namespace`,
      ).toBeTruthy();
      expect(
        validate(manifest),
        `${relative(examplesDir, join(examplesDir, file))}: ${manifest.kind}`,
      ).toEqual([]);
    }
  });

  it.each(Object.entries(sets))(
    "Given the %s set, when its references are resolved, then instances, realms, Secrets and grants exist",
    (_name, files) => {
      const set = load(files);
      const resources = set.filter((m) => m.apiVersion === API_VERSION) as unknown as KeycloakResource[];
      expect(resources.length).toBeGreaterThan(0);
      for (const m of set) {
        const namespace = m.metadata.namespace;
        if (namespace === undefined) continue;
        const exists = set.some((n) => n.kind === "Namespace" && n.metadata.name === namespace);
        expect(exists, `namespace ${namespace} of ${m.kind} ${m.metadata.name} is in the set`).toBe(true);
      }
      for (const resource of resources) {
        const ns = resource.metadata.namespace ?? "";
        if (resource.kind === "KeycloakInstance") {
          const ext = resource.spec.external;
          const creds = ext?.adminCredentials;
          if (creds?.secretRef) {
            expect(secretKeys(set, creds.secretRef.name, ns)).toEqual(
              expect.arrayContaining([
                creds.secretRef.usernameKey ?? "username",
                creds.secretRef.passwordKey ?? "password",
              ]),
            );
          }
          if (creds?.clientCredentials) {
            const ref = creds.clientCredentials.secretRef;
            expect(secretKeys(set, ref.name, ns)).toContain(ref.key ?? "client-secret");
          }
          if (ext?.caSecretRef)
            expect(secretKeys(set, ext.caSecretRef.name, ns)).toContain(ext.caSecretRef.key ?? "ca.crt");
        }
        if (resource.kind === "KeycloakRealm") {
          const ref = instanceRefOf(resource);
          const instance = find(set, "KeycloakInstance", ref.name, ref.namespace);
          expect(instance, `instance ${ref.namespace}/${ref.name}`).toBeDefined();
          const grants = (instance?.spec as { realmGrants?: NamespaceGrants } | undefined)?.realmGrants;
          expect(
            granted(instance as Manifest, grants, ns, labelsOf(set, ns)),
            `realm ${ns}/${resource.metadata.name} granted`,
          ).toBe(true);
          for (const ref of realmSecretReferences(resource.spec))
            expect(secretKeys(set, ref.name, ns), ref.field).toContain(ref.key);
        }
        if (resource.kind === "KeycloakClient") {
          const ref = realmRefOf(resource);
          const realm = find(set, "KeycloakRealm", ref.name, ref.namespace);
          expect(realm, `realm ${ref.namespace}/${ref.name}`).toBeDefined();
          const grants = (realm?.spec as { clientGrants?: NamespaceGrants } | undefined)?.clientGrants;
          expect(
            granted(realm as Manifest, grants, ns, labelsOf(set, ns)),
            `client ${ns}/${resource.metadata.name} granted`,
          ).toBe(true);
        }
      }
    },
  );
});

describe("createResourceValidator", () => {
  const realm = {
    apiVersion: API_VERSION,
    kind: "KeycloakRealm",
    metadata: { name: "apps", namespace: "identity" },
    spec: { instanceRef: { name: "main" }, realmName: "apps" },
  };

  it("Given a valid realm, when validated, then there is no violation", () => {
    expect(validate(realm)).toEqual([]);
  });

  it("Given a misspelt field, when validated, then it is reported as unknown at its path", () => {
    expect(validate({ ...realm, spec: { ...realm.spec, realmname: "x" } })).toEqual([
      {
        path: "/spec",
        message: 'unknown field "realmname"; check its spelling against docs/reference/crds.md',
      },
    ]);
  });

  it("Given a value outside an enum and a missing required field, when validated, then both are reported", () => {
    const violations = validate({
      ...realm,
      spec: { instanceRef: { name: "main" }, sslRequired: "sometimes" },
    });
    expect(violations).toEqual(
      expect.arrayContaining([
        { path: "/spec", message: "must have required property 'realmName'" },
        { path: "/spec/sslRequired", message: 'must be one of "none", "external", "all"' },
      ]),
    );
  });

  it("Given a realm name with a space and a bad date in status, when validated, then pattern and format fail", () => {
    const violations = validate({
      ...realm,
      spec: { ...realm.spec, realmName: "my realm" },
      status: { nextAttemptAt: "tomorrow" },
    });
    expect(violations.map((v) => v.path).sort()).toEqual(["/spec/realmName", "/status/nextAttemptAt"]);
  });

  it("Given an unknown kind, when validated, then it says which kinds exist", () => {
    expect(validate({ kind: "KeycloakGroup" })).toEqual([
      {
        path: "/kind",
        message:
          'kind must be one of KeycloakInstance, KeycloakRealm, KeycloakClient, KeycloakUser, got "KeycloakGroup"',
      },
    ]);
  });
});
