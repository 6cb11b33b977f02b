#!/usr/bin/env node
// The `kpo` command: every command group registers itself here, so following imports from this file
// leads to every behaviour. Run from the repository with `npx tsx src/cli.ts ...` (or `npm run kpo -- ...`).
import { Command } from "commander";
import { registerDiffCommand } from "./cli/diffCommand.js";
import { registerExportCommand } from "./cli/exportCommand.js";
import { registerMachinesCommands } from "./cli/machinesCommand.js";
import { registerPolicyCommands } from "./cli/policyCommand.js";
import { registerRestoreCommand } from "./cli/restoreCommand.js";
import { registerRunCommand } from "./cli/runCommand.js";
import { registerStatusCommand } from "./cli/statusCommand.js";

export function buildProgram(): Command {
  const program = new Command("kpo").description(
    "keycloak-policy-operator: manage Keycloak instances, realms and clients from Kubernetes resources, governed by policy",
  );
  registerRunCommand(program);
  registerStatusCommand(program);
  registerPolicyCommands(program);
  registerMachinesCommands(program);
  registerRestoreCommand(program);
  registerExportCommand(program);
  registerDiffCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
