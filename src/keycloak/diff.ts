// Comparison of managed fields. The desired representation lists only the fields the operator
// manages; anything else Keycloak holds (defaults, fields set by people in the console) is left
// alone. Keycloak stores realm/client attributes as strings, so scalars are compared by their
// string form.

/** True when every field present in `desired` has the same value in `actual`. */
export function isSubsetEqual(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null) return actual === null || actual === undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    // Keycloak keeps lists of scalars (redirect URIs, web origins, locales, …) as sets and returns
    // them in its own order: compare those as multisets. Lists of objects keep their order.
    if (desired.every(isScalar) && actual.every(isScalar)) {
      const a = actual.map(String).sort();
      return desired
        .map(String)
        .sort()
        .every((d, i) => d === a[i]);
    }
    return desired.every((d, i) => isSubsetEqual(d, actual[i]));
  }
  if (typeof desired === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubsetEqual(v, a[k]));
  }
  if (desired === actual) return true;
  if (!isScalar(desired) || !isScalar(actual)) return false;
  return String(desired) === String(actual);
}

/**
 * The top-level fields of `desired` whose value differs from `actual` (for objects such as
 * `attributes`, the differing keys as `attributes.<key>`), in the order of `desired`. Keys listed
 * in `skip` are not compared.
 */
export function changedFields(
  desired: Record<string, unknown>,
  actual: Record<string, unknown>,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (skip.has(key) || value === undefined) continue;
    if (key === "attributes" && typeof value === "object" && value !== null && !Array.isArray(value)) {
      const actualAttrs = (actual[key] ?? {}) as Record<string, unknown>;
      for (const [attr, attrValue] of Object.entries(value as Record<string, unknown>)) {
        if (!isSubsetEqual(attrValue, actualAttrs[attr])) changed.push(`attributes.${attr}`);
      }
      continue;
    }
    if (!isSubsetEqual(value, actual[key])) changed.push(key);
  }
  return changed;
}

/** Names in `desired` and not in `actual`, and in `actual` and not in `desired`, both sorted. */
export function setDifference(
  desired: Iterable<string>,
  actual: Iterable<string>,
): { toAdd: string[]; toRemove: string[] } {
  const d = new Set(desired);
  const a = new Set(actual);
  return {
    toAdd: [...d].filter((x) => !a.has(x)).sort(),
    toRemove: [...a].filter((x) => !d.has(x)).sort(),
  };
}

function isScalar(value: unknown): value is string | number | boolean | bigint {
  return ["string", "number", "boolean", "bigint"].includes(typeof value);
}

/**
 * The old and new value of each field `changedFields` named (`attributes.<key>` looked up in the
 * attribute maps), for a plan to show (./plan.ts).
 */
export function fieldValues(
  fields: readonly string[],
  desired: Record<string, unknown>,
  actual: Record<string, unknown>,
): { field: string; old: unknown; new: unknown }[] {
  const at = (rep: Record<string, unknown>, field: string): unknown => {
    if (!field.startsWith("attributes.")) return rep[field];
    const attributes = rep.attributes;
    return typeof attributes === "object" && attributes !== null
      ? (attributes as Record<string, unknown>)[field.slice("attributes.".length)]
      : undefined;
  };
  return fields.map((field) => ({ field, old: at(actual, field), new: at(desired, field) }));
}
