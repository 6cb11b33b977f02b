import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "../testenv/tools.js";
import { deepMerge, type DataDocument } from "./dataOverride.js";
import { builtInDataSchema, dataSchemaProblems, parseDataSchema } from "./dataSchema.js";

const builtInData = JSON.parse(readFileSync(join(repoRoot, "policies/data.json"), "utf8")) as DataDocument;
const withOverride = (override: unknown) => deepMerge(builtInData, override as DataDocument);

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  $ref?: string;
}

describe("policy data schema", () => {
  it("Given the built-in data.json, when checked, then it matches", () => {
    expect(dataSchemaProblems(builtInData)).toEqual([]);
  });

  it("Given the data overrides shipped as examples and fixtures, when merged and checked, then they match", () => {
    const fixtures = join(repoRoot, "test/fixtures/policy");
    const overrides = readdirSync(fixtures).filter((f) => f.endsWith("override.yaml"));
    expect(overrides.length).toBeGreaterThan(0);
    for (const file of [
      ...overrides.map((f) => join(fixtures, f)),
      join(repoRoot, "examples/managed/policy-data.json"),
    ]) {
      const override = parseYaml(readFileSync(file, "utf8")) as unknown;
      expect(dataSchemaProblems(withOverride(override)), file).toEqual([]);
    }
  });

  it('Given a quota written as the string "0", when checked, then the problem names the field, the type expected and the value', () => {
    const data = withOverride({ kpo: { quota: { defaults: { maxClientsPerRealm: "0" } } } });
    expect(dataSchemaProblems(data)).toEqual([
      'kpo.quota.defaults.maxClientsPerRealm must be integer, got string "0"',
    ]);
  });

  it("Given per-namespace data with wrong values, when checked, then each problem names its namespace", () => {
    const data = withOverride({
      kpo: {
        quota: { namespaces: { "team-a": { maxClientsPerNamespace: -1 }, "Team B": {} } },
        namespaceEnforcement: { "team-a": { quota: "warning" } },
      },
    });
    expect(dataSchemaProblems(data)).toEqual([
      'kpo.namespaceEnforcement["team-a"].quota must be one of enforce, warn, dryrun, got string "warning"',
      'kpo.quota.namespaces has key "Team B", which must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
      'kpo.quota.namespaces["team-a"].maxClientsPerNamespace must be >= 0, got integer -1',
    ]);
  });

  it("Given a misspelt key or a document without the kpo root, when checked, then the unknown key is named with the known ones", () => {
    expect(
      dataSchemaProblems(withOverride({ kpo: { quota: { defaults: { maxClientPerRealm: 1 } } } })),
    ).toEqual([
      'kpo.quota.defaults has unknown key "maxClientPerRealm" (known keys: maxRealmsPerNamespace, maxClientsPerNamespace, maxClientsPerRealm, maxUsersPerNamespace)',
    ]);
    expect(dataSchemaProblems(withOverride({ quota: {} }))).toEqual([
      'the data document has unknown key "quota" (known keys: kpo)',
    ]);
  });

  it("Given further authorization settings (lists, or lists by key), when checked, then they are accepted; wrong shapes are refused", () => {
    const extended = withOverride({
      kpo: {
        authorization: {
          reservedClients: ["broker", "admin-cli"],
          reservedRoles: [],
          allowedProtocolMappers: ["oidc-usermodel-attribute-mapper"],
          reservedClaims: ["realm_access"],
          allowedPrivilegePaths: { "team-a": ["realm-management/view-users"] },
        },
      },
    });
    expect(dataSchemaProblems(extended)).toEqual([]);

    const wrong = withOverride({
      kpo: {
        authorization: {
          privilegedRoles: "realm-admin",
          reservedClients: "broker",
          futureSetting: "x",
          allowedPrivilegePaths: { "team-a": "realm-management/view-users" },
          allowedAdminRoles: { "team-a": [1] },
        },
      },
    });
    expect(dataSchemaProblems(wrong).sort()).toEqual(
      [
        'kpo.authorization.privilegedRoles must be array, got string "realm-admin"',
        'kpo.authorization.allowedAdminRoles["team-a"][0] must be string, got integer 1',
        'kpo.authorization.reservedClients must be array, got string "broker"',
        'kpo.authorization.futureSetting must be a list of strings or an object whose values are lists of strings, got string "x"',
        'kpo.authorization.allowedPrivilegePaths["team-a"] must be array, got string "realm-management/view-users"',
      ].sort(),
    );
  });

  it("Given managed image registries, when checked, then registry and repository prefixes are accepted and entries a prefix match could be stretched past are refused", () => {
    const registries = (list: unknown[]) =>
      dataSchemaProblems(withOverride({ kpo: { authorization: { managedImageRegistries: list } } }));
    expect(
      registries(["quay.io/keycloak/", "registry.corp:5000", "quay.io/keycloak/keycloak", "localhost:5000/"]),
    ).toEqual([]);
    const refused = registries(["", "quay.io/keycloak/../", " quay.io/", "quay.io/keycloak/keycloak:26"]);
    expect(refused.map((p) => p.replace(/ must match pattern .*/, ""))).toEqual(
      [0, 1, 2, 3].map((i) => `kpo.authorization.managedImageRegistries[${i}]`),
    );
    expect(registries([1])).toEqual([
      "kpo.authorization.managedImageRegistries[0] must be string, got integer 1",
    ]);
  });

  it("Given the production selector with a wrong operator, when checked, then the operators allowed are listed", () => {
    const data = withOverride({
      kpo: { production: { namespaceSelector: { matchExpressions: [{ key: "env", operator: "in" }] } } },
    });
    expect(dataSchemaProblems(data)).toEqual([
      'kpo.production.namespaceSelector.matchExpressions[0].operator must be one of In, NotIn, Exists, DoesNotExist, got string "in"',
    ]);
  });

  it("Given every data.kpo path the policies read, when looked up in the schema, then the schema describes it", () => {
    const schema = builtInDataSchema as SchemaNode & { $defs: Record<string, SchemaNode> };
    const deref = (node: SchemaNode | undefined): SchemaNode | undefined =>
      node?.$ref ? schema.$defs[node.$ref.replace("#/$defs/", "")] : node;
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".rego") && !entry.name.endsWith("_test.rego")) {
          for (const m of readFileSync(path, "utf8").matchAll(
            /data\.kpo\.([A-Za-z_]+)(?:\.([A-Za-z_]+))?/g,
          )) {
            // data.kpo.policy.* and data.kpo.lib are the policy packages themselves, not data.
            if (m[1] !== "policy" && m[1] !== "lib") read.add(m[2] ? `${m[1]}.${m[2]}` : m[1]!);
          }
        }
      }
    };
    walk(join(repoRoot, "policies"));
    expect(read.size).toBeGreaterThan(5);
    const undescribed = [...read].filter((path) => {
      let node = deref(schema.properties?.kpo);
      for (const key of path.split(".")) {
        const next: SchemaNode | undefined = deref(node?.properties?.[key]);
        if (next === undefined && typeof node?.additionalProperties !== "object") return true;
        node = next ?? deref(node?.additionalProperties as SchemaNode);
      }
      return false;
    });
    expect(undescribed).toEqual([]);
  });

  it("Given a bundle's schema that is not JSON or not a schema, when parsed, then it is refused with the reason", () => {
    expect(() => parseDataSchema("{")).toThrow(/data\.schema\.json is not valid JSON/);
    expect(() => parseDataSchema('{"type": "no-such-type"}')).toThrow(
      /data\.schema\.json is not a usable JSON Schema/,
    );
  });
});
