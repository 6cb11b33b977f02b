import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseAllDocuments } from "yaml";
import { FILL_IN_ANNOTATION, type ExportResult } from "../export/manifests.js";
import { ExportReport } from "../export/report.js";
import { realmOfFile, writeExport } from "./exportCommand.js";

const result = (): ExportResult => {
  const report = new ExportReport();
  report.notExpressed("$.clientPolicies", "not managed in this version");
  return {
    resources: [
      {
        apiVersion: "keycloak.kpo.dev/v1alpha1",
        kind: "KeycloakRealm",
        metadata: { name: "shop", namespace: "iam" },
        spec: { realmName: "shop" },
      },
    ],
    secrets: [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "shop-smtp", namespace: "iam" },
        type: "Opaque",
        stringData: { password: "s3cr3t-value" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "shop-idp-up",
          namespace: "iam",
          annotations: { [FILL_IN_ANNOTATION]: "client-secret" },
        },
        type: "Opaque",
        stringData: { "client-secret": "" },
      },
    ],
    report,
  };
};

describe("realmOfFile", () => {
  it("takes the one realm of a file, or the one --realm names from a list", () => {
    expect(realmOfFile({ realm: "a" }, undefined, "f.json")).toEqual({ realm: "a" });
    expect(realmOfFile([{ realm: "a" }, { realm: "b" }], "b", "f.json")).toEqual({ realm: "b" });
  });
  it("refuses what is not a realm, an ambiguous list and an absent name, saying what the file has", () => {
    expect(() => realmOfFile({ clients: [] }, undefined, "f.json")).toThrow(
      'f.json holds no realm (no object with a "realm" field)',
    );
    expect(() => realmOfFile([{ realm: "a" }, { realm: "b" }], undefined, "f.json")).toThrow(
      "holds 2 realms (a, b); pick one with --realm",
    );
    expect(() => realmOfFile([{ realm: "a" }], "c", "f.json")).toThrow('f.json has no realm "c" (it has: a)');
  });
});

describe("writeExport", () => {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  afterEach(() => out.mockClear());

  it("streams the resources on stdout and never the Secrets: they are listed for the user to create", () => {
    const notes = writeExport(result(), {});
    const printed = out.mock.calls.map((c) => String(c[0])).join("");
    expect(parseAllDocuments(printed).map((d) => (d.toJS() as { kind: string }).kind)).toEqual([
      "KeycloakRealm",
    ]);
    expect(printed + notes.join("\n")).not.toContain("s3cr3t-value");
    expect(notes).toContain("  Secret shop-smtp: key(s) password");
    expect(notes).toContain("  $.clientPolicies: not managed in this version");
  });

  it("writes one file per resource and the Secrets apart, readable by the owner only, naming those to fill in", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kpo-export-"));
    const notes = writeExport(result(), { outputDir: dir });
    expect(out).not.toHaveBeenCalled();
    expect(readFileSync(path.join(dir, "keycloakrealm-shop.yaml"), "utf8")).toContain("realmName: shop");
    const secretsFile = path.join(dir, "secrets", "secrets.yaml");
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretsFile, "utf8")).toContain("s3cr3t-value");
    expect(notes.join("\n")).toContain("fill in the empty values of shop-idp-up");
  });
});
