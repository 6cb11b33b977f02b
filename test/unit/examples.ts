// The examples/ directory as sets of manifests, the way a user applies them: shared by the tests
// that check the examples hang together and that every way of deciding on them agrees.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { crdDirectory } from "../../src/api/crds.js";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

export const examplesDir = join(crdDirectory(), "..", "examples");

export function loadExamples(files: string[]): Manifest[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(examplesDir, file), "utf8"))
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null),
  );
}

function yamlFiles(dir: string, recursive: boolean): string[] {
  return readdirSync(join(examplesDir, dir), { recursive })
    .map(String)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, f))
    .sort();
}

/** The example sets as a user applies them, as paths below examples/. */
export const exampleSets: Record<string, string[]> = {
  quickstart: yamlFiles("quickstart", false),
  managed: yamlFiles("managed", false),
  "multi-tenant": yamlFiles("multi-tenant", false),
  "production (denied)": [...yamlFiles("production", false), ...yamlFiles("production/denied", false)],
  "production (fixed)": [...yamlFiles("production", false), ...yamlFiles("production/fixed", false)],
  complete: yamlFiles("complete", false),
  "complete (with LDAP)": [...yamlFiles("complete", false), ...yamlFiles("complete/ldap", false)],
};

export const allExampleFiles = ["quickstart", "managed", "multi-tenant", "production", "complete"].flatMap(
  (d) => yamlFiles(d, true),
);
