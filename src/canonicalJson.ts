// Equality of JSON values whatever order their object keys come in: the API server and Keycloak
// hand objects back with their keys in their own order, so a comparison of their JSON text would
// find a change where there is none.

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON with object keys sorted (array order kept; undefined members dropped, as JSON does). */
export function canonicalJson(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isPlainObject(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, walk(v[k])]),
    );
  };
  return JSON.stringify(walk(value)) ?? "undefined";
}

/** Do two values say the same as JSON? */
export const sameJson = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
