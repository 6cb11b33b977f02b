// Where the installation's machine files are: machines/ in the package root (the checkout, or /app in
// the image, which copies machines/ beside dist/).
import { join } from "node:path";
import { packageRoot } from "../packageRoot.js";

/** The installation's machines/ directory. */
export const DEFAULT_MACHINES_DIR = join(packageRoot(), "machines");

/** The shared lifecycle chart every kind's parameter file names. */
export const LIFECYCLE_CHART = "lifecycle.chart.json";
