// Static checks of the CRD manifests: the API server rejects or mis-handles schemas that break these
// rules (structural schema, bounded lists and strings for CEL cost), and users depend on the rest
// (descriptions, printer columns, short names).
import { isDeepStrictEqual } from "node:util";
import { dumpYaml } from "@kubernetes/client-node";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CRD_KINDS,
  openApiSchema,
  readCrd,
  readCrdForApiServer,
  readCrds,
  readCrdsForApiServer,
  type CrdSchema,
} from "../../src/api/crds.js";
import { GROUP, PLURALS, SHORT_NAMES, VERSION } from "../../src/api/index.js";

/** Java's Integer.MAX_VALUE: the largest value Keycloak's int fields hold. */
const JAVA_INT_MAX = 2_147_483_647;

interface Node {
  path: string;
  schema: CrdSchema;
}

/** Every schema node below `schema`, with a path like spec.roles[].name or spec.smtp.*. */
function nodes(schema: CrdSchema, path: string): Node[] {
  const out: Node[] = [{ path, schema }];
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    out.push(...nodes(child, `${path}.${name}`));
  if (schema.items) out.push(...nodes(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === "object")
    out.push(...nodes(schema.additionalProperties, `${path}.*`));
  return out;
}

function specAndStatusNodes(kind: (typeof CRD_KINDS)[number]): Node[] {
  const root = openApiSchema(readCrd(kind));
  return [...nodes(root.properties?.spec ?? {}, "spec"), ...nodes(root.properties?.status ?? {}, "status")];
}

function schemaAt(root: CrdSchema, jsonPath: string): CrdSchema | undefined {
  let node: CrdSchema | undefined = root;
  for (const segment of jsonPath
    .replace(/\[\?.*$/, "")
    .split(".")
    .filter(Boolean)) {
    node = node?.properties?.[segment];
  }
  return node;
}

describe.each(CRD_KINDS)("CRD %s", (kind) => {
  const crd = readCrd(kind);
  const root = openApiSchema(crd);

  it("Given the manifest, when read, then it is namespaced, in the keycloak category, with short name and status subresource", () => {
    expect(crd.metadata.name).toBe(`${PLURALS[kind]}.${GROUP}`);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names.plural).toBe(PLURALS[kind]);
    expect(crd.spec.names.shortNames).toEqual([SHORT_NAMES[kind]]);
    expect(crd.spec.names.categories).toContain("keycloak");
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[VERSION, true, true]]);
    expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    expect(root.required).toEqual(["spec"]);
  });

  it("Given the printer columns, when their paths are resolved, then each names a field of the schema", () => {
    const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["Phase", "Ready", "Age"]));
    for (const column of columns) {
      if (column.jsonPath === ".metadata.creationTimestamp") continue;
      expect(schemaAt(root, column.jsonPath), `column ${column.name}: ${column.jsonPath}`).toBeDefined();
    }
  });

  it("Given every field, when inspected, then it has a type and a description", () => {
    const missing = specAndStatusNodes(kind)
      .filter(({ schema }) => !schema.description || (!schema.type && !schema["x-kubernetes-int-or-string"]))
      .map(({ path }) => path);
    expect(missing).toEqual([]);
  });

  it("Given every string, list and map, when inspected, then it is bounded (CEL cost and etcd size)", () => {
    const unbounded = specAndStatusNodes(kind)
      .filter(({ schema }) => {
        if (schema.type === "string") return schema.maxLength === undefined && !schema.enum && !schema.format;
        if (schema.type === "array") return schema.maxItems === undefined;
        if (schema.type === "object" && schema.additionalProperties)
          return schema.maxProperties === undefined;
        return false;
      })
      .map(({ path }) => path);
    expect(unbounded).toEqual([]);
  });

  it("Given every integer, when inspected, then it has a minimum and a maximum that a Java int holds", () => {
    // Keycloak keeps these numbers in Java ints (client attributes are parsed into one), so a value
    // the API server accepts beyond 2^31-1 fails later, far from the field that caused it.
    const unbounded = specAndStatusNodes(kind)
      .filter(({ schema }) => schema.type === "integer" || schema.anyOf?.some((s) => s.type === "integer"))
      .filter(({ schema }) => !schema["x-kubernetes-int-or-string"])
      .filter(
        ({ schema }) =>
          schema.minimum === undefined ||
          schema.maximum === undefined ||
          schema.maximum > JAVA_INT_MAX ||
          schema.minimum > schema.maximum,
      )
      .map(({ path, schema }) => `${path} (min ${schema.minimum}, max ${schema.maximum})`);
    expect(unbounded).toEqual([]);
  });

  it("Given every int-or-string, when inspected, then it is a Kubernetes resource quantity or a bounded count-or-percentage (never sent to Keycloak)", () => {
    // Quantities go into the StatefulSet, where the API server checks them as resource.Quantity;
    // the PodDisruptionBudget's maxUnavailable goes into Kubernetes too, bounded here as both forms.
    const intOrString = specAndStatusNodes(kind).filter(({ schema }) => schema["x-kubernetes-int-or-string"]);
    const others = intOrString
      .filter(({ path }) => !/^spec\.managed\.resources\.(requests|limits)\.\*$/.test(path))
      .filter(({ path }) => path !== "spec.managed.podDisruptionBudget.maxUnavailable")
      .map(({ path }) => path);
    expect(others).toEqual([]);
    for (const { path, schema } of intOrString.filter(({ path }) => path.endsWith(".maxUnavailable"))) {
      expect(
        [schema.minimum, schema.maximum, schema.maxLength, schema.pattern].every((b) => b !== undefined),
        path,
      ).toBe(true);
    }
  });

  it("Given list-map arrays and required lists, when inspected, then keys are required and required fields exist", () => {
    for (const { path, schema } of specAndStatusNodes(kind)) {
      for (const name of schema.required ?? []) {
        expect(schema.properties?.[name], `${path} requires missing field ${name}`).toBeDefined();
      }
      if (schema["x-kubernetes-list-type"] === "map") {
        for (const key of schema["x-kubernetes-list-map-keys"] ?? []) {
          expect(schema.items?.required, `${path}: list-map key ${key}`).toContain(key);
        }
      }
    }
  });

  it("Given every default, when validated against its own field's schema, then it is valid", () => {
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const withDefaults = specAndStatusNodes(kind).filter(({ schema }) => schema.default !== undefined);
    expect(withDefaults.length).toBeGreaterThan(0);
    for (const { path, schema } of withDefaults) {
      expect(ajv.validate(schema, schema.default), `${path} default: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it("Given the manifest converted for client-node, when serialized back, then no default or CEL rule is lost", () => {
    const roundTrip = parse(dumpYaml(readCrdForApiServer(kind))) as unknown;
    expect(isDeepStrictEqual(roundTrip, crd)).toBe(true);
  });
});

describe("CRDs together", () => {
  it("Given all CRDs converted for client-node, when serialized back, then they equal the manifests", () => {
    const roundTrip = readCrdsForApiServer().map((crd) => parse(dumpYaml(crd)) as unknown);
    expect(isDeepStrictEqual(roundTrip, readCrds())).toBe(true);
    expect(roundTrip).toHaveLength(4);
  });

  it("Given the three kinds, when their common status fields are compared, then they are identical", () => {
    const [instance, ...others] = readCrds().map(
      (crd) => openApiSchema(crd).properties?.status?.properties ?? {},
    );
    const common = [
      "phase",
      "conditions",
      "observedGeneration",
      "attempts",
      "nextAttemptAt",
      "policyRevision",
      "lastError",
    ];
    for (const field of common) {
      expect(instance?.[field], field).toBeDefined();
      for (const other of others)
        expect(isDeepStrictEqual(other[field], instance?.[field]), field).toBe(true);
    }
  });

  it("Given the realm schema, when groups are walked, then they nest exactly three levels", () => {
    const groups = openApiSchema(readCrd("KeycloakRealm")).properties?.spec?.properties?.groups;
    const level2 = groups?.items?.properties?.subGroups;
    const level3 = level2?.items?.properties?.subGroups;
    expect(level2?.items?.properties?.name).toBeDefined();
    expect(level3?.items?.properties?.name).toBeDefined();
    expect(level3?.items?.properties?.subGroups).toBeUndefined();
  });

  it("Given the cross-field rules the brief requires, when the schemas are read, then each rule is present", () => {
    const rules = (schema: CrdSchema | undefined) =>
      (schema?.["x-kubernetes-validations"] ?? []).map((r) => r.rule);
    const instanceSpec = openApiSchema(readCrd("KeycloakInstance")).properties?.spec;
    const realmSpec = openApiSchema(readCrd("KeycloakRealm")).properties?.spec;
    const clientSpec = openApiSchema(readCrd("KeycloakClient")).properties?.spec;
    expect(rules(instanceSpec)).toContain("has(self.external) != has(self.managed)");
    expect(rules(realmSpec?.properties?.realmName)).toContain("self == oldSelf");
    expect(rules(clientSpec?.properties?.clientId)).toContain("self == oldSelf");
    expect(
      rules(clientSpec).some((r) => r.includes("publicClient") && r.includes("serviceAccountsEnabled")),
    ).toBe(true);
    expect(realmSpec?.properties?.deletionPolicy?.default).toBe("Retain");
    expect(clientSpec?.properties?.deletionPolicy?.default).toBe("Retain");
    expect(realmSpec?.properties?.adopt?.default).toBe(false);
  });
});
