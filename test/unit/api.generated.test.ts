// The generated types and reference docs must match what the generator makes from the CRDs today:
// a schema change without `npm run gen:api` fails here instead of drifting silently.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readCrds } from "../../src/api/crds.js";
import { docsPath, generateDocs, generateTypes, typesPath } from "../../scripts/gen-api.js";

describe("generated API files", () => {
  it("Given the CRDs, when the types are regenerated in memory, then they equal src/api/types.generated.ts", async () => {
    const generated = await generateTypes(readCrds());
    expect(
      generated,
      "src/api/types.generated.ts is stale: run `npm run gen:api` and commit the result",
    ).toBe(readFileSync(typesPath, "utf8"));
  });

  it("Given the CRDs, when the reference is regenerated in memory, then it equals docs/reference/crds.md", () => {
    expect(
      generateDocs(readCrds()),
      "docs/reference/crds.md is stale: run `npm run gen:api` and commit the result",
    ).toBe(readFileSync(docsPath, "utf8"));
  });

  it("Given a schema change, when the types are regenerated, then the output changes (the drift check can fail)", async () => {
    const crds = readCrds();
    const realm = crds[1];
    const spec = realm?.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec;
    if (spec?.properties === undefined) throw new Error("realm CRD has no spec properties");
    spec.properties.extraSetting = { type: "string", description: "Added by the test.", maxLength: 10 };
    const generated = await generateTypes(crds);
    expect(generated).toContain("extraSetting?: string;");
    expect(generated).not.toBe(readFileSync(typesPath, "utf8"));
  });

  it("Given the docs, when read, then every spec field of every kind has a row", () => {
    const docs = generateDocs(readCrds());
    for (const field of [
      "spec.external.adminCredentials.secretRef.name",
      "spec.realmName",
      "spec.pkceMethod",
    ]) {
      expect(docs).toContain(`| \`${field}\` |`);
    }
  });
});
