// Where the installation's machine files are: machines/ at the repository root, found from src/
// with tsx and from dist/src/ when built (the image copies machines/ beside dist/, not into it).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's machines/ directory, as resolved from this module. */
export const DEFAULT_MACHINES_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../machines");

/** `DEFAULT_MACHINES_DIR`, corrected for a built tree (dist/machines is machines). */
export const installedMachinesDir = (dir: string = DEFAULT_MACHINES_DIR): string =>
  dir.replace(/[/\\]dist[/\\]machines$/, "/machines");

/** The shared lifecycle chart every kind's parameter file names. */
export const LIFECYCLE_CHART = "lifecycle.chart.json";
