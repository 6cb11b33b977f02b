// The coverage table must name exactly the fields Keycloak's representations have, every spec path
// it claims must exist in the CRD schema, and docs/reference/coverage.md must be what the generator
// makes today.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiSchema, readCrd, type CrdSchema } from "../../src/api/crds.js";
import {
  coverageCounts,
  coverageKinds,
  managedStatuses,
  type CoverageEntry,
} from "../../src/resources/coverage.js";
import {
  coveragePath,
  generateCoverage,
  interfaceFields,
  representationFields,
} from "../../scripts/gen-coverage.js";

function schemaAt(root: CrdSchema, path: string): CrdSchema | undefined {
  let node: CrdSchema | undefined = root;
  for (const part of path.split(".")) node = node?.properties?.[part];
  return node;
}

describe("coverage of Keycloak's representations", () => {
  for (const { kind, representation, file, table } of coverageKinds) {
    describe(`${kind} (${representation})`, () => {
      it("Given the admin client's declaration, when compared with the table, then every field is covered and no other", () => {
        const fields = representationFields(file);
        expect(fields.length).toBeGreaterThan(30);
        const covered = Object.keys(table);
        expect(
          fields.filter((f) => !covered.includes(f)),
          `fields of ${representation} missing from src/resources/coverage.ts`,
        ).toEqual([]);
        expect(
          covered.filter((f) => !fields.includes(f)),
          `fields in src/resources/coverage.ts that ${representation} does not have`,
        ).toEqual([]);
      });

      it("Given the managed entries, when their spec paths are looked up in the CRD schema, then each exists", () => {
        const root = openApiSchema(readCrd(kind));
        const claimed = Object.entries(table).flatMap(([field, e]) =>
          (e.spec ?? []).map((path) => ({ field, path })),
        );
        expect(claimed.length).toBeGreaterThan(10);
        expect(claimed.filter(({ path }) => schemaAt(root, path) === undefined)).toEqual([]);
      });

      it("Given every entry, when checked, then managed ones name a spec path and the others a reason", () => {
        const bad = Object.entries(table).filter(([, e]: [string, CoverageEntry]) =>
          managedStatuses.has(e.status) ? (e.spec ?? []).length === 0 : (e.reason ?? "") === "",
        );
        expect(bad).toEqual([]);
      });
    });
  }

  it("Given a spec path that the schema lacks, when looked up, then it is not found (the check can fail)", () => {
    const root = openApiSchema(readCrd("KeycloakRealm"));
    expect(schemaAt(root, "spec.tokens.accessTokenLifespanSeconds")).toBeDefined();
    expect(schemaAt(root, "spec.tokens.noSuchLifespan")).toBeUndefined();
  });

  it("Given a declaration with nested object types, when parsed, then only top-level fields are listed", () => {
    const source = [
      "export default interface X {",
      "    a?: string;",
      "    b?: {",
      "        [index: string]: Y;",
      "        inner?: number;",
      "    };",
      "    c: Record<string, any>;",
      "}",
      "export type Z = { d?: string };",
    ].join("\n");
    expect(interfaceFields(source)).toEqual(["a", "b", "c"]);
  });

  it("Given a table, when counted, then configurable leaves out server-set and deprecated and planned is not managed", () => {
    expect(
      coverageCounts({
        a: { status: "managed", spec: ["spec.a"] },
        b: { status: "planned", reason: "later" },
        c: { status: "server-set", reason: "id" },
        d: { status: "deprecated", reason: "old" },
        e: { status: "secret by reference", spec: ["spec.e"], reason: "Secret" },
      }),
    ).toEqual({ fields: 5, configurable: 3, managed: 2, planned: 1, percent: 66.7 });
  });

  it("Given the table, when the document is regenerated in memory, then it equals docs/reference/coverage.md", async () => {
    expect(
      await generateCoverage(),
      "docs/reference/coverage.md is stale: run `npm run gen:coverage` and commit the result",
    ).toBe(readFileSync(coveragePath, "utf8"));
  });
});
