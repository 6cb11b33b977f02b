// The policy engine the operator holds: one active compiled bundle answering decide() synchronously,
// hot-reloaded from a watched directory. A new bundle or data override is validated (its data matches
// the data schema, it loads, has the entrypoint, answers a probe with a well-formed Decision) before
// it replaces the active one in a single assignment; a bad one is refused, logged and counted, and
// the last good bundle keeps serving.
import { dirname, resolve } from "node:path";
import { directoryReloader } from "../hotReload/directoryReloader.js";
import { loggerFor, type Logger } from "../observability/logger.js";
import { compileBundle, readBundle, type CompiledBundle } from "./bundle.js";
import type { Decision, DecideFn, Enforcement, PolicyInput } from "./decision.js";
import { PolicyDataError } from "./dataSchema.js";
import {
  policyBundleInfo,
  policyBundleLoadsTotal,
  policyDecisionsTotal,
  policyEvaluationSeconds,
} from "./metrics.js";

export interface PolicyEngineOptions {
  /** Directory holding .manifest, data.json and policy.wasm (e.g. a mounted ConfigMap). */
  bundleDir: string;
  /** JSON or YAML partial data document deep-merged over the bundle's data.json. */
  dataOverrideFile?: string;
  /** Watch the bundle directory and the override file's directory and swap in changes. */
  watch?: boolean;
  /** Quiet time after the last file event before reloading (kubelet writes several files). Default 500 ms. */
  debounceMs?: number;
  /** Also re-check on this period, in case a file event is missed (0 = never). Default 60 s when watching. */
  pollIntervalMs?: number;
  /** Default: the "policy" component logger. The CLI passes a silent one to keep its stdout clean. */
  logger?: Logger;
}

export interface PolicyEngine {
  /** Synchronous and pure: what machine guards call. Never throws; an internal failure denies. */
  decide: DecideFn;
  /** decide() without counting the decision in kpo_policy_decisions_total: for audits (src/policy/audit.ts). */
  evaluate: DecideFn;
  /** The policies of the active bundle (its data.kpo.enforcement's keys), e.g. for PolicyReport passes. */
  readonly policies: readonly string[];
  /** Revision of the active bundle (plus "+data:<hash>" when an override is merged). */
  readonly revision: string;
  /** True while a bundle is loaded and the engine is not closed. */
  readonly ready: boolean;
  /** Called after a successful swap; the operator then re-evaluates every resource. Returns an unsubscribe. */
  onChange(cb: (revision: string) => void): () => void;
  /** Re-reads the bundle now; resolves true if a new bundle was swapped in, false if unchanged or refused. */
  reload(): Promise<boolean>;
  close(): void;
}

const severity: Record<Enforcement | "none", number> = { none: 0, dryrun: 1, warn: 2, enforce: 3 };

function recordDecision(decision: Decision): void {
  let strongest: Enforcement | "none" = "none";
  for (const v of decision.violations) {
    policyDecisionsTotal.inc({ policy: v.policy, result: "violation", enforcement: v.enforcement });
    if (severity[v.enforcement] > severity[strongest]) strongest = v.enforcement;
  }
  policyDecisionsTotal.inc({
    policy: "all",
    result: decision.allowed ? "allow" : "deny",
    enforcement: strongest,
  });
}

/** Loads the bundle (rejecting if it is unusable) and, if asked, watches it for changes. */
export async function createPolicyEngine(opts: PolicyEngineOptions): Promise<PolicyEngine> {
  const log = opts.logger ?? loggerFor("policy");
  const bundleDir = resolve(opts.bundleDir);
  const overrideFile = opts.dataOverrideFile === undefined ? undefined : resolve(opts.dataOverrideFile);
  let active: CompiledBundle;
  try {
    active = await compileBundle(await readBundle(bundleDir, overrideFile));
  } catch (err) {
    policyBundleLoadsTotal.inc({ result: "failure" });
    const fix =
      err instanceof PolicyDataError
        ? "Fix the data to match that schema, which lists every key the policies read and its type."
        : "Build one with scripts/policies.sh build, or point the operator at a directory holding .manifest, data.json and policy.wasm.";
    throw new Error(
      `policy bundle ${bundleDir}${overrideFile ? ` with data override ${overrideFile}` : ""} refused: ${(err as Error).message}. ${fix}`,
      { cause: err },
    );
  }
  policyBundleLoadsTotal.inc({ result: "success" });
  policyBundleInfo.reset();
  policyBundleInfo.set({ revision: active.revision }, 1);
  log.info({ revision: active.revision, bundleDir, dataOverrideFile: overrideFile }, "policy bundle loaded");

  const listeners = new Set<(revision: string) => void>();
  let closed = false;
  let lastRefused: string | undefined;

  async function reloadOnce(): Promise<boolean> {
    let next: CompiledBundle;
    let fingerprint: string | undefined;
    try {
      const files = await readBundle(bundleDir, overrideFile);
      fingerprint = files.fingerprint;
      // Unchanged, or the same bad files already refused (the periodic re-check would repeat the alarm).
      if (fingerprint === active.fingerprint || fingerprint === lastRefused) return false;
      next = await compileBundle(files);
    } catch (err) {
      const reason = (err as Error).message.replace(/\.+$/, "");
      // Files that could not even be read or parsed have no fingerprint: the same reason stands in.
      const refusal = fingerprint ?? `unreadable: ${reason}`;
      if (refusal === lastRefused) return false;
      lastRefused = refusal;
      policyBundleLoadsTotal.inc({ result: "failure" });
      log.error(
        { bundleDir, dataOverrideFile: overrideFile, activeRevision: active.revision, reason },
        `policy bundle refused (${reason}); revision ${active.revision} keeps serving. Fix the bundle or data override: it is re-read on its next change.`,
      );
      return false;
    }
    if (closed) return false;
    const previous = active.revision;
    active = next; // the swap: decide() reads `active` once per call
    policyBundleLoadsTotal.inc({ result: "success" });
    policyBundleInfo.reset();
    policyBundleInfo.set({ revision: next.revision }, 1);
    log.info({ revision: next.revision, previousRevision: previous }, "policy bundle swapped in");
    for (const cb of listeners) {
      try {
        cb(next.revision);
      } catch (err) {
        log.error({ err, revision: next.revision }, "policy onChange listener failed");
      }
    }
    return true;
  }

  const reloader = directoryReloader({
    dirs: [bundleDir, ...(overrideFile ? [dirname(overrideFile)] : [])],
    reloadOnce,
    watch: opts.watch,
    debounceMs: opts.debounceMs,
    pollIntervalMs: opts.pollIntervalMs,
    log,
    what: "policy bundle",
  });

  function decide(input: PolicyInput): Decision {
    const decision = evaluate(input);
    recordDecision(decision);
    return decision;
  }

  function evaluate(input: PolicyInput): Decision {
    const bundle = active;
    const start = process.hrtime.bigint();
    let decision: Decision;
    try {
      decision = bundle.evaluate(input);
    } catch (err) {
      // Fail closed: a guard that cannot get an answer must not let a side effect run.
      const reason = (err as Error).message;
      log.error({ revision: bundle.revision, kind: input.kind, reason }, "policy evaluation failed");
      decision = {
        allowed: false,
        violations: [
          {
            policy: "engine",
            code: "PolicyEvaluationFailed",
            message: `Policy bundle ${bundle.revision} could not evaluate ${input.kind} ${input.resource?.metadata?.namespace}/${input.resource?.metadata?.name}: ${reason}. The operator retries when the bundle changes; report it to the policy owners.`,
            enforcement: "enforce",
          },
        ],
        warnings: [],
      };
    }
    policyEvaluationSeconds.observe(Number(process.hrtime.bigint() - start) / 1e9);
    return decision;
  }

  return {
    decide,
    evaluate,
    get policies() {
      return active.policies;
    },
    get revision() {
      return active.revision;
    },
    get ready() {
      return !closed;
    },
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    reload: () => reloader.reload(),
    close() {
      closed = true;
      reloader.close();
      listeners.clear();
    },
  };
}
