// Where the installation's own files are (crds/, machines/, build/policy/bundle): the nearest
// directory above this code that holds package.json. The same answer from src/ (tsx, tests), from
// dist/src/ (tsc output) and from dist/kpo.mjs (the single-file bundle the image runs), whose
// modules sit at different depths, so no path is counted in "../" steps.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return (cached = dir);
    if (dirname(dir) === dir) {
      throw new Error(`no package.json above ${start}: run kpo from its checkout, package or image`);
    }
  }
}
