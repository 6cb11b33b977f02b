// What every part of the realm export shares: the realm's representation, the new realm's values to
// compare it with, the report, and the few rules each part applies the same way (a value equal to
// Keycloak's default is left out, the operator's own bookkeeping attributes are no configuration,
// Secrets are named after the realm and the object that needs them).
import { canonicalJson, sameJson } from "../canonicalJson.js";
import { forRealm, type KeycloakDefaults, type Representation } from "./defaults.js";
import type { SecretReference } from "../resources/secretReferences.js";
import { MASKED_SECRET, type ExportReport } from "./report.js";

export interface ExportContext {
  rep: Representation;
  /** The new realm's partial export, with this realm's name. */
  defaults: Representation;
  report: ExportReport;
  secretPrefix: string;
}

export function exportContext(
  rep: Representation,
  report: ExportReport,
  defaults: KeycloakDefaults,
  secretPrefix: string | undefined,
): ExportContext {
  const realm = typeof rep.realm === "string" ? rep.realm : "";
  return {
    rep,
    defaults: forRealm(defaults.realm, realm),
    report,
    secretPrefix: secretPrefix ?? dnsLabel(realm || "realm"),
  };
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const records = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter(isRecord) : [];

export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];

export const recordOf = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** JSON with object keys sorted, so equal values compare equal whatever order Keycloak wrote. */
export const canonical = canonicalJson;
export const sameValue = sameJson;

/** Two name lists with the same members, in any order. */
export const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  sameValue([...new Set(a)].sort(), [...new Set(b)].sort());

/**
 * Attributes the operator writes for itself (owner, markers, secret hashes, what it linked): they
 * say which resource managed the object, not how it is configured, and the new resource writes its
 * own when it applies.
 */
export const isOperatorAttribute = (key: string): boolean => key.startsWith("kpo.dev/");

/** `value` without the operator's own attributes. */
export function withoutOperatorAttributes<T>(attributes: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => !isOperatorAttribute(k)));
}

/** A Secret name's part from anything (an alias may hold capitals or underscores). */
export function dnsLabel(value: string): string {
  const label = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return label || "x";
}

/** `${prefix}-${parts}`: the Secret an exported reference names. */
export const secretName = (ctx: ExportContext, ...parts: string[]): string =>
  [ctx.secretPrefix, ...parts.map(dnsLabel)].join("-");

/**
 * A secret-bearing value of the export, as the Secret reference that replaces it. `references` is
 * what the forward mapping makes of that reference (src/resources/secretReferences.ts), so the
 * report names the spec path the operator will read it from. The value goes to the report only when
 * the export has it in clear (a full `kc.sh export`); a partial export masks it.
 */
export function exportedSecret(
  ctx: ExportContext,
  references: readonly SecretReference[],
  value: unknown,
): { name: string; key: string } {
  const [ref] = references;
  if (ref === undefined) throw new Error("an exported secret needs the reference the spec will hold");
  const clear = typeof value === "string" && value !== "" && value !== MASKED_SECRET ? value : undefined;
  ctx.report.secret({
    name: ref.name,
    key: ref.key,
    field: ref.field,
    ...(clear !== undefined ? { value: clear } : {}),
  });
  return { name: ref.name, key: ref.key };
}

/** A component config value (Keycloak keeps lists): the single string, or undefined. */
export function singleValue(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  const list = strings(v);
  return list.length === 1 ? list[0] : undefined;
}
