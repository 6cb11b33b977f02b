// docs/machines.md is generated from machines/*.json; this fails when someone edits a machine
// file without regenerating it (or edits the generated file by hand).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  runMachinesDiagram,
  runMachinesValidate,
  EXIT_INVALID_MACHINE,
} from "../../src/cli/machinesCommand.js";
import { renderMachinesMarkdown } from "../../src/lifecycle/diagram.js";
import { DEFAULT_MACHINES_DIR, loadMachines } from "../../src/lifecycle/loader.js";

const DOC = new URL("../../docs/machines.md", import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

describe("docs/machines.md", () => {
  it("Given the machine files, When the diagrams are rendered, Then docs/machines.md is up to date (regenerate: npx tsx src/cli.ts machines diagram --out docs/machines.md)", () => {
    const rendered = renderMachinesMarkdown(loadMachines().values());
    expect(readFileSync(DOC, "utf8")).toBe(rendered);
  });

  it("Given the machines, When rendered, Then every state and every transition target appears in a Mermaid diagram", () => {
    const rendered = renderMachinesMarkdown(loadMachines().values());
    expect(rendered.match(/```mermaid\nstateDiagram-v2/g)).toHaveLength(4);
    for (const state of ["Pending", "Provisioning", "Ready", "Degraded", "Failed", "Deleting", "Deleted"]) {
      expect(rendered).toContain(`--> ${state}`);
    }
    expect(rendered).toContain("Degraded --> Provisioning: RETRY_DUE (after retryDelay)");
    expect(rendered).toContain("Pending --> Failed: RECONCILE [policyDenied]");
  });
});

describe("kpo machines", () => {
  it("Given valid machine files, When validated, Then each kind is reported valid with exit 0", () => {
    const { io, out } = capture();
    expect(runMachinesValidate({ dir: DEFAULT_MACHINES_DIR }, io)).toBe(0);
    expect(out.join("")).toContain("KeycloakRealm: ");
  });

  it("Given a machine file with a bad guard, When validated or diagrammed, Then exit 2 names the file and the bad reference", () => {
    const dir = mkdtempSync(join(tmpdir(), "kpo-machines-"));
    for (const f of ["instance.json", "client.json", "lifecycle.chart.json"])
      copyFileSync(join(DEFAULT_MACHINES_DIR, f), join(dir, f));
    // The realm runs a broken copy of the shared chart; the other kinds keep the good one.
    const chart = readFileSync(join(DEFAULT_MACHINES_DIR, "lifecycle.chart.json"), "utf8").replace(
      '"guard": "isPermanentError"',
      '"guard": "isFatalError"',
    );
    writeFileSync(join(dir, "broken.chart.json"), chart);
    const realm = readFileSync(join(DEFAULT_MACHINES_DIR, "realm.json"), "utf8").replace(
      '"chart": "lifecycle.chart.json"',
      '"chart": "broken.chart.json"',
    );
    writeFileSync(join(dir, "realm.json"), realm);
    for (const run of [runMachinesValidate, runMachinesDiagram]) {
      const { io, err } = capture();
      expect(run({ dir }, io)).toBe(EXIT_INVALID_MACHINE);
      expect(err.join("")).toMatch(
        /realm\.json: \$\.machine\.states\.Provisioning\.invoke\.onError\[0\]\.guard: unknown guard "isFatalError"/,
      );
    }
  });
});
