// Small pieces of the scale benchmark that are not about the scenario itself: the operator as a
// child process, its /metrics parsed into sums, and its CPU and memory read from /proc.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { operatorCommand } from "../src/testenv/operatorCommand.js";
import { freePort } from "../src/testenv/ports.js";
import { repoRoot } from "../src/testenv/tools.js";
import { metricSum } from "../src/observability/prometheusText.js";

export { metricSum };

export interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  metrics(): Promise<string>;
  /** True while the process has not exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** The bundled CLI (`npm run bundle`), which the image runs and the benchmark measures. */
export const compiledCli = path.join(repoRoot, "dist/kpo.mjs");

/**
 * `kpo run` as its own process, as the image starts it: `node [nodeFlags] dist/kpo.mjs run …`
 * (the bundle, no tsx loader in the measured CPU and memory). Resolves once /readyz is 200.
 */
export async function startOperator(options: {
  kubeconfig: string;
  logFile: string;
  args: string[];
  /** Flags for node itself, before the script (e.g. --cpu-prof, --heapsnapshot-signal). */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}): Promise<OperatorProcess> {
  if (!existsSync(compiledCli))
    throw new Error(`${compiledCli} is missing: run \`npm run bundle\` (npm run bench:scale does)`);
  const port = await freePort();
  const log = createWriteStream(options.logFile, { flags: "a" });
  const tsx = operatorCommand({
    kubeconfigPath: options.kubeconfig,
    healthPort: port,
    args: ["--leader-election", "false", ...options.args],
  });
  // Same arguments as the tools' tsx command, with the loader and the source entry point swapped.
  const entry = tsx.args.indexOf(path.join(repoRoot, "src/cli.ts"));
  const command = tsx.command;
  const args = [...(options.nodeFlags ?? []), compiledCli, ...tsx.args.slice(entry + 1)];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (!alive())
      throw new Error(
        `operator exited with ${child.exitCode ?? child.signalCode} before /readyz; see ${options.logFile}`,
      );
    const ok = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`operator not ready on ${base}/readyz in time; see ${options.logFile}`);
    }
    await sleep(250);
  }
  if (child.pid === undefined) throw new Error("operator process has no pid");
  return {
    child,
    pid: child.pid,
    logFile: options.logFile,
    alive,
    metrics: async () => (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    async stop() {
      if (alive()) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Keycloak request counts from the operator's metrics; writes exclude admin-token logins. */
export interface KeycloakCounts {
  byMethod: Record<string, number>;
  tokens: number;
  reads: number;
  writes: number;
  total: number;
}

/** The node flags of the Dockerfile's ENTRYPOINT (between node and the script), as the image runs. */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
  const line = dockerfile.split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error("the Dockerfile has no ENTRYPOINT line");
  const [, ...rest] = JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
  return rest.slice(0, rest.indexOf("dist/kpo.mjs"));
}

export function keycloakCounts(text: string): KeycloakCounts {
  const byMethod: Record<string, number> = {};
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
    byMethod[method] = metricSum(text, "kpo_keycloak_requests_total", { method });
  }
  const tokens = metricSum(text, "kpo_keycloak_token_requests_total");
  const total = Object.values(byMethod).reduce((a, b) => a + b, 0);
  const reads = byMethod.GET ?? 0;
  return { byMethod, tokens, reads, writes: total - reads - tokens, total };
}

export function diffCounts(after: KeycloakCounts, before: KeycloakCounts): KeycloakCounts {
  const byMethod: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byMethod)) byMethod[k] = v - (before.byMethod[k] ?? 0);
  return {
    byMethod,
    tokens: after.tokens - before.tokens,
    reads: after.reads - before.reads,
    writes: after.writes - before.writes,
    total: after.total - before.total,
  };
}

export const zeroCounts: KeycloakCounts = { byMethod: {}, tokens: 0, reads: 0, writes: 0, total: 0 };

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User+system CPU seconds and peak resident set (VmHWM, MiB) of a live process. */
export function processStats(pid: number): { cpuSeconds: number; peakRssMiB: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return {
    cpuSeconds: (utime + stime) / ticksPerSecond(),
    peakRssMiB: kib("VmHWM") / 1024,
    rssMiB: kib("VmRSS") / 1024,
  };
}

/**
 * CPU seconds of a live process by thread name (`node` is the JavaScript thread; V8's GC and
 * compiler helpers, libuv's pool and the inspector's profiler have their own names), to say where
 * CPU outside the JavaScript thread goes.
 */
export function threadCpu(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).trim();
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

/** What each thread name used between two `threadCpu` readings, largest first, in CPU seconds. */
export function threadCpuSince(before: Record<string, number>, after: Record<string, number>) {
  return Object.entries(after)
    .map(([name, s]) => [name, Math.round((s - (before[name] ?? 0)) * 100) / 100] as const)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** Run `task(i)` for i in [0, count) with at most `concurrency` in flight; the first error rejects. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
