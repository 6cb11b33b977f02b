// How the local tools start the operator as its own process — `kpo run` from the sources through
// tsx, exactly as a user runs it — so `make dev`, the end-to-end tests and the benchmarks agree.
import path from "node:path";
import { repoRoot } from "./tools.js";

export interface OperatorCommandOptions {
  kubeconfigPath: string;
  healthPort: number;
  args?: string[];
}

/** Executable and arguments for `spawn`; run it with `cwd: repoRoot`. */
export function operatorCommand(options: OperatorCommandOptions): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      "--import",
      "tsx",
      path.join(repoRoot, "src/cli.ts"),
      "run",
      "--kubeconfig",
      options.kubeconfigPath,
      "--health-bind-address",
      `127.0.0.1:${options.healthPort}`,
      ...(options.args ?? []),
    ],
  };
}
