// The operator's own bookkeeping in Keycloak: ownership marks and records (`kpo.dev/owner-uid`,
// `kpo.dev/managed`, `kpo.dev/default-roles`, hashes of write-only secrets, …) kept in the
// `attributes` and `config` maps of realms, clients, roles, groups and components. They describe
// which resource manages an object, not the object, so an export drops them before it converts:
// the exported resources then adopt the objects instead of inheriting another resource's claim.

const OPERATOR_PREFIX = "kpo.dev/";
const markedMaps = new Set(["attributes", "config"]);

/** A copy of `value` without the operator's keys in any `attributes` or `config` map, at any depth. */
export function withoutOperatorMarks<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutOperatorMarks(v) as unknown) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (markedMaps.has(key) && typeof child === "object" && child !== null && !Array.isArray(child)) {
      copy[key] = Object.fromEntries(
        Object.entries(child as Record<string, unknown>)
          .filter(([k]) => !k.startsWith(OPERATOR_PREFIX))
          .map(([k, v]) => [k, withoutOperatorMarks(v)]),
      );
    } else copy[key] = withoutOperatorMarks(child);
  }
  return copy as T;
}
