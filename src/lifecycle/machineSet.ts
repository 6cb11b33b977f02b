// The lifecycle machines the operator holds: one active set (a machine per kind) that every
// reconcile reads through get(), hot-reloaded from the --machines directory. A changed set of files
// is loaded and validated by the same loader as at start-up, and checked against the active set (a
// state that disappears would strand every resource stored in it), before it replaces the active
// set in a single assignment. A bad set is refused with an error log line naming the file and the
// problem, counted, and the last good machines keep running. Watching is the policy bundle's
// (../hotReload/directoryReloader.ts).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { directoryReloader } from "../hotReload/directoryReloader.js";
import { loggerFor, type Logger } from "../observability/logger.js";
import type { ResourceKind } from "../policy/decision.js";
import { loadMachines, MachineDefinitionError, type LoadedMachine } from "./loader.js";
import { initTransitions, machinesInfo, machinesLoadsTotal } from "./metrics.js";
import { DEFAULT_MACHINES_DIR } from "./paths.js";

export interface MachineSetOptions {
  /** The machines directory (machines/ of the installation, or a mounted ConfigMap). */
  dir?: string;
  /** Watch the directory and swap in changes. */
  watch?: boolean;
  /** Quiet time after the last file event before reloading. Default 500 ms. */
  debounceMs?: number;
  /** Also re-check on this period (0 = never). Default 60 s when watching. */
  pollIntervalMs?: number;
  logger?: Logger;
}

export interface MachineSet {
  /** The active machine of a kind: reconcilers call this once per reconcile. */
  get(kind: ResourceKind): LoadedMachine;
  /** Content hash of the active set's files. */
  readonly revision: string;
  /** Re-reads the directory now; resolves true if a new set was swapped in, false if unchanged or refused. */
  reload(): Promise<boolean>;
  close(): void;
}

interface ActiveSet {
  machines: Map<ResourceKind, LoadedMachine>;
  revision: string;
}

/** A hash over every *.json file's name and content: a ConfigMap update changes it, a re-check does not. */
function fingerprint(dir: string): string {
  const hash = createHash("sha256");
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    hash
      .update(f)
      .update("\0")
      .update(readFileSync(join(dir, f)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Why `next` cannot replace `active`, or undefined. Every state of a kind's active machine must
 * still exist: a resource whose status stores a removed phase could not be resumed.
 */
export function incompatibility(
  active: ReadonlyMap<ResourceKind, LoadedMachine>,
  next: ReadonlyMap<ResourceKind, LoadedMachine>,
): { file: string; detail: string } | undefined {
  for (const [kind, current] of active) {
    const candidate = next.get(kind);
    if (!candidate) return { file: current.file, detail: `no machine defines kind ${kind} any more` };
    const states = new Set(Object.keys(candidate.definition.machine.states));
    const removed = Object.keys(current.definition.machine.states).filter((s) => !states.has(s));
    if (removed.length > 0)
      return {
        file: candidate.file,
        detail: `the ${kind} machine no longer has state${removed.length > 1 ? "s" : ""} ${removed.join(", ")}, which resources may have stored as their phase; keep ${removed.length > 1 ? "them" : "it"}, or roll out a new operator version that migrates the stored phases`,
      };
  }
  return undefined;
}

function load(dir: string): ActiveSet {
  const revision = fingerprint(dir);
  return { machines: loadMachines(dir), revision };
}

function describe(err: unknown): { file?: string; reason: string } {
  if (err instanceof MachineDefinitionError) return { file: err.file, reason: err.message };
  return { reason: err instanceof Error ? err.message : String(err) };
}

/** Loads the machines (throwing if they are invalid: the operator cannot start without them) and, if asked, watches them. */
export function createMachineSet(opts: MachineSetOptions = {}): MachineSet {
  const log = opts.logger ?? loggerFor("machines");
  const dir = resolve(opts.dir ?? DEFAULT_MACHINES_DIR);
  let active: ActiveSet;
  try {
    active = load(dir);
  } catch (err) {
    machinesLoadsTotal.inc({ result: "failure" });
    throw err;
  }
  machinesLoadsTotal.inc({ result: "success" });
  machinesInfo.reset();
  machinesInfo.set({ revision: active.revision }, 1);
  initTransitions(active.machines.values());
  log.info({ revision: active.revision, dir }, "lifecycle machines loaded");

  let closed = false;
  let lastRefused: string | undefined;

  function refuse(refusal: string, file: string | undefined, reason: string): false {
    if (refusal === lastRefused) return false; // the periodic re-check would repeat the alarm
    lastRefused = refusal;
    machinesLoadsTotal.inc({ result: "failure" });
    log.error(
      { dir, file, reason, activeRevision: active.revision },
      `lifecycle machines refused: ${reason.replace(/\.+$/, "")}; revision ${active.revision} keeps running. Fix the file: the directory is re-read on its next change.`,
    );
    return false;
  }

  // Loading is synchronous (the loader reads with readFileSync); the reloader takes a promise.
  function reloadOnce(): boolean {
    let revision: string | undefined;
    let next: ActiveSet;
    try {
      revision = fingerprint(dir);
      if (revision === active.revision || revision === lastRefused) return false;
      next = load(dir);
    } catch (err) {
      const { file, reason } = describe(err);
      return refuse(revision ?? `unreadable: ${reason}`, file, reason);
    }
    const bad = incompatibility(active.machines, next.machines);
    if (bad) return refuse(next.revision, bad.file, `${bad.file}: ${bad.detail}`);
    if (closed) return false;
    const previous = active.revision;
    active = next; // the swap: get() reads `active` once per call
    lastRefused = undefined;
    machinesLoadsTotal.inc({ result: "success" });
    machinesInfo.reset();
    machinesInfo.set({ revision: next.revision }, 1);
    initTransitions(next.machines.values());
    log.info({ revision: next.revision, previousRevision: previous, dir }, "lifecycle machines swapped in");
    return true;
  }

  const reloader = directoryReloader({
    dirs: [dir],
    reloadOnce: () => Promise.resolve(reloadOnce()),
    watch: opts.watch,
    debounceMs: opts.debounceMs,
    pollIntervalMs: opts.pollIntervalMs,
    log,
    what: "machines",
  });

  return {
    get(kind) {
      const m = active.machines.get(kind);
      if (!m) throw new Error(`no lifecycle machine for ${kind}`);
      return m;
    },
    get revision() {
      return active.revision;
    },
    reload: () => reloader.reload(),
    close() {
      closed = true;
      reloader.close();
    },
  };
}
