// What `kpo diff` found, per object, and how it is printed: text for a person, JSON for a machine.
// Pure: no I/O. Secret values never reach the report: changes the sync marks secret print as
// "(secret changed)", and any value under a secret-bearing key (password, clientSecret,
// bindCredential, secret, …) prints as "***", in text and JSON alike.
import type { Decision } from "../policy/decision.js";
import { isSubsetEqual } from "../keycloak/diff.js";
import type { FieldChange, PlannedWrite } from "../keycloak/plan.js";

export type ObjectAction = "create" | "update" | "unchanged" | "error";

/** One write a reconcile would make inside an existing object. */
export interface PlannedChange {
  op: "create" | "update" | "delete";
  field: string;
  /** The sync's own words for the request. */
  what: string;
  changes?: FieldChange[];
}

export interface ObjectDiff {
  kind: string;
  namespace: string;
  name: string;
  /** The Keycloak object: `realm "shop"`, `client "web" in realm "shop"`. */
  target: string;
  action: ObjectAction;
  /** create: the desired fields. update: the top-level settings changed, old → new. */
  fields: FieldChange[];
  /** update: the writes to sub-collections and settings, as the sync would make them. */
  changes: PlannedChange[];
  error?: string;
  policy?: { operation: string; decision: Decision };
}

const secretKeys = new Set([
  "password",
  "secret",
  "clientSecret",
  "bindCredential",
  "initialPassword",
  "credentials",
  "value",
]);

/** Is the last segment of a field path one that holds a secret? */
export function isSecretField(field: string): boolean {
  const last = field.split(".").at(-1) ?? field;
  return secretKeys.has(last) && last !== "value";
}

export const masked = "***";

/** The value with every secret-bearing key's value replaced by "***", at any depth. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  // `value` is a secret only beside `temporary` or `type` (a credential), not as a config key.
  const credential = "temporary" in record || "type" in record;
  for (const [k, v] of Object.entries(record)) {
    out[k] = secretKeys.has(k) && (k !== "value" || credential) ? masked : maskSecrets(v);
  }
  return out;
}

/** A change made safe to print or serialise: secrets carry no values. */
export function safeChange(change: FieldChange): FieldChange {
  if (change.secret || isSecretField(change.field)) return { field: change.field, secret: true };
  return {
    field: change.field,
    ...(change.old !== undefined ? { old: maskSecrets(change.old) } : {}),
    ...(change.new !== undefined ? { new: maskSecrets(change.new) } : {}),
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A change of a map (attributes, smtpServer, config) as the keys that differ, each its own line;
 * other changes as they are.
 */
export function expandChange(change: FieldChange): FieldChange[] {
  if (change.secret || !isPlainObject(change.new)) return [change];
  const old = isPlainObject(change.old) ? change.old : {};
  return Object.entries(change.new)
    .filter(([key, value]) => !isSubsetEqual(value, old[key]))
    .flatMap(([key, value]) =>
      expandChange({ field: `${change.field}.${key}`, old: old[key], new: value }).map(safeChange),
    );
}

/**
 * The planned writes of one object as the report shows them: the changes of its own settings (a
 * write with values whose field is a setting, not a `kind:name` item) line by line in `fields`,
 * every other write in `changes`.
 */
export function splitWrites(writes: readonly PlannedWrite[]): Pick<ObjectDiff, "fields" | "changes"> {
  const isSettings = (w: PlannedWrite) => w.changes !== undefined && !w.field.includes(":");
  return {
    fields: writes
      .filter(isSettings)
      .flatMap((w) => (w.changes ?? []).flatMap((c) => expandChange(safeChange(c)))),
    changes: writes.filter((w) => !isSettings(w)).map(plannedChange),
  };
}

export function plannedChange(write: PlannedWrite): PlannedChange {
  return {
    // A POST adds (an object, role mappings, composites); a PUT changes; a DELETE takes away.
    op: write.method === "POST" ? "create" : write.method === "DELETE" ? "delete" : "update",
    field: write.field,
    what: write.what,
    ...(write.changes && write.changes.length > 0
      ? { changes: write.changes.flatMap((c) => expandChange(safeChange(c))) }
      : {}),
  };
}

/** A value as one line: strings quoted, lists and maps as JSON, nothing as "(unset)". */
export function formatValue(value: unknown): string {
  if (value === undefined) return "(unset)";
  return JSON.stringify(maskSecrets(value));
}

function formatChange(change: FieldChange): string {
  if (change.secret || isSecretField(change.field)) return `${change.field}: (secret changed)`;
  return `${change.field}: ${formatValue(change.old)} → ${formatValue(change.new)}`;
}

const opSign = { create: "+", update: "~", delete: "-" } as const;

function formatDecision(policy: NonNullable<ObjectDiff["policy"]>): string[] {
  const { decision, operation } = policy;
  const verdict = !decision.allowed
    ? "DENIED"
    : decision.violations.length > 0
      ? "ALLOWED (with findings)"
      : "ALLOWED";
  const lines = [`  policy (${operation}): ${verdict}`];
  const order = (e: string) => (e === "enforce" ? 0 : e === "warn" ? 1 : 2);
  for (const v of [...decision.violations].sort((a, b) => order(a.enforcement) - order(b.enforcement))) {
    const label = v.enforcement === "enforce" ? "deny" : v.enforcement;
    lines.push(`    ${label} ${v.policy}/${v.code}: ${v.message}`);
  }
  return lines;
}

/** The report as a person reads it: one block per object that would change (or failed), then a summary. */
export function formatText(diffs: readonly ObjectDiff[]): string {
  const lines: string[] = [];
  for (const d of diffs) {
    const head = `${d.kind} ${d.namespace}/${d.name} (${d.target})`;
    if (d.action === "unchanged") {
      if (d.policy) lines.push(`${head}: unchanged`, ...formatDecision(d.policy));
      continue;
    }
    lines.push(`${head}: ${d.action}`);
    if (d.action === "create") for (const f of d.fields) lines.push(`  ${f.field}: ${formatValue(f.new)}`);
    else for (const f of d.fields) lines.push(`  ${formatChange(f)}`);
    for (const c of d.changes) {
      lines.push(`  ${opSign[c.op]} ${c.field}: ${c.what}`);
      for (const f of c.changes ?? []) lines.push(`      ${formatChange(f)}`);
    }
    if (d.error) lines.push(`  error: ${d.error}`);
    if (d.policy) lines.push(...formatDecision(d.policy));
  }
  const count = (a: ObjectAction) => diffs.filter((d) => d.action === a).length;
  lines.push(
    `${count("create")} to create, ${count("update")} to update, ${count("unchanged")} unchanged` +
      (count("error") > 0 ? `, ${count("error")} failed` : ""),
  );
  return lines.join("\n") + "\n";
}

/** The report as JSON: the same content, secrets masked the same way. */
export function formatJson(diffs: readonly ObjectDiff[]): string {
  return (
    JSON.stringify(
      diffs.map((d) => ({
        ...d,
        fields: d.fields.map((f) =>
          d.action === "create" ? { field: f.field, new: maskSecrets(f.new) } : safeChange(f),
        ),
      })),
      null,
      2,
    ) + "\n"
  );
}

/** 0: nothing would change; 1: something would; 2: an object could not be diffed. */
export function exitCodeOf(diffs: readonly ObjectDiff[]): 0 | 1 | 2 {
  if (diffs.some((d) => d.action === "error")) return 2;
  return diffs.some((d) => d.action !== "unchanged") ? 1 : 0;
}
