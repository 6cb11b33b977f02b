// Checks that what a bundle answered is a Decision (src/policy/decision.ts). A bundle is untrusted
// input from a ConfigMap: a policy that returns the wrong shape must be refused at load time and,
// should it ever happen at evaluation time, treated as a denial rather than as "allowed".
import type { Decision, Enforcement, Violation } from "./decision.js";

const enforcements: ReadonlySet<string> = new Set<Enforcement>(["enforce", "warn", "dryrun"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isViolation(value: unknown): value is Violation {
  return (
    isRecord(value) &&
    typeof value.policy === "string" &&
    typeof value.code === "string" &&
    typeof value.message === "string" &&
    typeof value.enforcement === "string" &&
    enforcements.has(value.enforcement)
  );
}

/** The reason `value` is not a Decision, or undefined when it is one. */
export function decisionShapeError(value: unknown): string | undefined {
  if (!isRecord(value)) return "the result is not an object";
  if (typeof value.allowed !== "boolean") return "result.allowed is not a boolean";
  if (!Array.isArray(value.violations)) return "result.violations is not an array";
  const bad = value.violations.findIndex((v) => !isViolation(v));
  if (bad >= 0) {
    return `result.violations[${bad}] lacks one of policy, code, message (strings) or enforcement (enforce|warn|dryrun)`;
  }
  if (!Array.isArray(value.warnings) || !value.warnings.every((w) => typeof w === "string")) {
    return "result.warnings is not an array of strings";
  }
  const enforced = value.violations.some((v) => (v as Violation).enforcement === "enforce");
  if (value.allowed === enforced) {
    return "result.allowed contradicts the violations (allowed must be false iff some violation is enforced)";
  }
  return undefined;
}

export function isDecision(value: unknown): value is Decision {
  return decisionShapeError(value) === undefined;
}
