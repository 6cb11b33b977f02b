// `kpo run`: start the operator. Every setting has a flag and an environment variable (see
// src/operator/config.ts for the table and defaults).
import type { Command } from "commander";
import { hostname } from "node:os";
import { resolveConfig, SETTINGS, type OperatorConfig } from "../operator/config.js";
import { startOperator } from "../operator/operator.js";
import { loggerFor } from "../observability/logger.js";

const flagName = (flag: string) =>
  flag
    .split(" ")[0]!
    .replace(/^--/, "")
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function registerRunCommand(program: Command): void {
  const run = program
    .command("run")
    .description("run the operator (from a kubeconfig or the in-cluster config)");
  for (const s of SETTINGS)
    run.option(s.flag, `${s.description} [env ${s.env}; default: ${s.default || "none"}]`);
  run.action(async (opts: Record<string, string | undefined>) => {
    const log = loggerFor("cli");
    const flags: Partial<Record<keyof OperatorConfig, string>> = {};
    for (const s of SETTINGS) {
      const value = opts[flagName(s.flag)];
      if (value !== undefined) flags[s.key] = value;
    }
    let config: OperatorConfig;
    try {
      config = resolveConfig(flags, process.env, hostname());
    } catch (err) {
      console.error(`kpo run: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    }
    const operator = await startOperator(config);
    log.info(
      { health: `${operator.health.host}:${operator.health.port}`, identity: config.identity },
      "operator started",
    );
    let exiting = false;
    const shutdown = (signal: string) => {
      if (exiting) return;
      exiting = true;
      log.info({ signal }, "shutting down");
      void operator.stop().then(() => process.exit(0));
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    await operator.done;
    if (!exiting) process.exit(1);
  });
}
