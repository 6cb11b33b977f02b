// `kpo machines validate` checks the lifecycle machine files the way the operator does at start-up;
// `kpo machines diagram` renders them as Mermaid diagrams (docs/machines.md is generated this way).
// Exit 0 on success, 2 when a machine file is invalid (the message names the file and JSON path).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { renderMachinesMarkdown } from "../lifecycle/diagram.js";
import { loadMachines, MachineDefinitionError } from "../lifecycle/loader.js";

export const EXIT_INVALID_MACHINE = 2;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Loads and validates every machine file in `dir` (default: the installation's machines/). */
function load(dir: string | undefined, io: Io) {
  try {
    return dir ? loadMachines(dir) : loadMachines();
  } catch (error) {
    if (error instanceof MachineDefinitionError) {
      io.err(`invalid machine file: ${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

export function runMachinesValidate(options: { dir?: string }, io: Io = processIo): number {
  const machines = load(options.dir, io);
  if (!machines) return EXIT_INVALID_MACHINE;
  for (const m of machines.values()) io.out(`${m.kind}: ${m.file} is valid\n`);
  return 0;
}

export function runMachinesDiagram(options: { dir?: string; out?: string }, io: Io = processIo): number {
  const machines = load(options.dir, io);
  if (!machines) return EXIT_INVALID_MACHINE;
  const markdown = renderMachinesMarkdown(machines.values());
  if (options.out) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, markdown);
    io.out(`wrote ${options.out}\n`);
  } else {
    io.out(markdown);
  }
  return 0;
}

export function registerMachinesCommands(program: Command): void {
  const machines = program
    .command("machines")
    .description("Inspect the lifecycle machine files (machines/*.json)");
  machines
    .command("validate")
    .description("Validate every machine file: references, reachability, JSON-Logic rules")
    .option("--dir <dir>", "directory of machine files (default: machines/ of the installation)")
    .action((opts: { dir?: string }) => {
      process.exitCode = runMachinesValidate(opts);
    });
  machines
    .command("diagram")
    .description("Render every machine as a Mermaid state diagram in Markdown")
    .option("--dir <dir>", "directory of machine files (default: machines/ of the installation)")
    .option("--out <file>", "write to this file (e.g. docs/machines.md) instead of stdout")
    .action((opts: { dir?: string; out?: string }) => {
      process.exitCode = runMachinesDiagram(opts);
    });
}
