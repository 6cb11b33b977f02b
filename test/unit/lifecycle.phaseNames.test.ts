// What a phase means lives in the lifecycle chart (state tags and meta), read through
// src/lifecycle/. This fails when code elsewhere compares a phase by name again: a phase name as a
// string literal anywhere in src/ outside src/lifecycle/ and src/api/ (tests excluded).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { PHASES } from "../../src/lifecycle/types.js";

const SRC = new URL("../../src/", import.meta.url).pathname;
// src/testenv/ starts Kubernetes itself: its "Ready" is a Node's condition, not a phase.
const ALLOWED_DIRS = ["lifecycle", "api", "testenv"];
// Names a file may use for something else of the same name: a Pod's phase "Failed" (evicted).
const ALLOWED_IN_FILE: Readonly<Record<string, readonly string[]>> = {
  "managed/podDiagnosis.ts": ["Failed"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Every string literal (and template without substitutions) equal to a phase name, as file:line. */
function phaseLiterals(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const phases: readonly string[] = PHASES;
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
      phases.includes(node.text)
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${file}:${line + 1}: "${node.text}"`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("phase names stay in src/lifecycle/", () => {
  it("Given the sources outside src/lifecycle/ and src/api/, When scanned, Then no phase name appears as a string literal (ask phaseHasTag or the snapshot's tags instead)", () => {
    const files = sourceFiles(SRC).filter(
      (f) => !ALLOWED_DIRS.includes(relative(SRC, f).split(/[/\\]/)[0] ?? ""),
    );
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((f) => {
      const file = relative(SRC, f);
      const allowed = ALLOWED_IN_FILE[file] ?? [];
      return phaseLiterals(file, readFileSync(f, "utf8")).filter(
        (hit) => !allowed.some((name) => hit.endsWith(`: "${name}"`)),
      );
    });
    expect(found).toEqual([]);
  });

  it("Given a comparison with a phase name, When scanned, Then it is reported; a comment or a longer string is not", () => {
    const text = [
      '// "Ready" in a comment is fine',
      'const a = phase === "Ready";',
      "const b = `Degraded`;",
      'const c = "waiting for it to be Ready";',
    ].join("\n");
    expect(phaseLiterals("x.ts", text)).toEqual(['x.ts:2: "Ready"', 'x.ts:3: "Degraded"']);
  });
});
