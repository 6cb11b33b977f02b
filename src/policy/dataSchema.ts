// Checks policy data (a bundle's data.json, and the data merged with an override) against the JSON
// Schema of what the policies read, policies/data.schema.json. Rego does not fail on a value of the
// wrong type: a quota written as the string "0" compares greater than every count, an unknown mode
// falls back to enforce, a misspelt key is never read. Without this check such data would load and
// be silently ignored; with it the data is refused, saying which field is wrong and what it must be.
//
// A bundle may carry its own data.schema.json (scripts/policies.sh build copies the one in policies/
// next to data.json), so a bundle built from other policies brings the contract of its data along;
// a bundle without one is checked against the schema of the policies this operator was built with.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import builtInSchema from "../../policies/data.schema.json" with { type: "json" };

/** Data that does not match the data schema; the message lists every problem. */
export class PolicyDataError extends Error {
  override readonly name = "PolicyDataError";
}

/** The schema's file name, in policies/ and in a bundle directory. */
export const DATA_SCHEMA_FILE = "data.schema.json";

const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
const compiled = new Map<string, ValidateFunction>();

/** Compiles a schema once per distinct content. Throws when it is not a usable JSON Schema. */
function validatorFor(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    // Bundles may carry different versions of the schema under the same $id; Ajv would refuse the
    // second one, so each is compiled without it.
    const { $id: _id, ...anonymous } = schema as { $id?: unknown };
    validate = ajv.compile(anonymous);
    compiled.set(key, validate);
  }
  return validate;
}

/** The schema of the policies in this repository (policies/data.schema.json). */
export const builtInDataSchema: object = builtInSchema;

/** Parses a bundle's data.schema.json and proves it compiles; throws with the reason. */
export function parseDataSchema(text: string): object {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new Error(`${DATA_SCHEMA_FILE} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new Error(`${DATA_SCHEMA_FILE} is not a JSON object`);
  }
  try {
    validatorFor(schema);
  } catch (err) {
    throw new Error(`${DATA_SCHEMA_FILE} is not a usable JSON Schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return schema;
}

/**
 * Every way `data` departs from `schema`, one sentence each, e.g.
 * `kpo.quota.defaults.maxClientsPerRealm must be integer, got string "0"`. Empty when it matches.
 */
export function dataSchemaProblems(data: unknown, schema: object = builtInDataSchema): string[] {
  const validate = validatorFor(schema);
  if (validate(data)) return [];
  const problems = relevant(validate.errors ?? []).flatMap((e) => describe(e) ?? []);
  return [...new Set(problems)];
}

/**
 * For an anyOf, the errors of the branch whose type the value has (the one the author meant), else
 * the anyOf error alone: the other branches' complaints ("must be array" about an object) confuse.
 */
function relevant(errors: ErrorObject[]): ErrorObject[] {
  let kept = errors;
  for (const anyOf of errors.filter((e) => e.keyword === "anyOf")) {
    const branches = anyOf.schema as Array<{ type?: unknown }>;
    const meant = branches.findIndex((b) => typeMatches(b.type, anyOf.data));
    const within = (e: ErrorObject) =>
      e.instancePath === anyOf.instancePath || e.instancePath.startsWith(`${anyOf.instancePath}/`);
    const branchOf = (e: ErrorObject) =>
      within(e) ? branches.findIndex((_, i) => e.schemaPath.startsWith(`${anyOf.schemaPath}/${i}/`)) : -1;
    kept = kept.filter((e) => {
      if (e === anyOf) return meant < 0;
      const branch = branchOf(e);
      return branch < 0 || branch === meant;
    });
  }
  return kept;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(type: unknown, value: unknown): boolean {
  const actual = jsonType(value);
  return (Array.isArray(type) ? type : [type]).some(
    (t) => t === actual || (t === "number" && actual === "integer"),
  );
}

/** kpo.quota.namespaces["team-a"].maxClientsPerNamespace, the way the policies' messages write it. */
function pathOf(instancePath: string): string {
  let out = "";
  for (const raw of instancePath.split("/").slice(1)) {
    const s = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^[0-9]+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out === "" ? "the data document" : out;
}

function got(value: unknown): string {
  const type = jsonType(value);
  if (type === "string") return `string ${JSON.stringify(value)}`;
  if (type === "integer" || type === "number" || type === "boolean") return `${type} ${String(value)}`;
  return type;
}

function describe(e: ErrorObject): string | undefined {
  const at = pathOf(e.instancePath);
  const params = e.params as Record<string, unknown>;
  // A key that is not allowed: the inner error (with propertyName) says why; the wrapper adds nothing.
  if (e.keyword === "propertyNames") return undefined;
  if (e.propertyName !== undefined) {
    return `${at} has key ${JSON.stringify(e.propertyName)}, which ${e.message ?? "is not allowed"}`;
  }
  switch (e.keyword) {
    case "additionalProperties": {
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = known.length > 0 ? ` (known keys: ${known.join(", ")})` : "";
      return `${at} has unknown key ${JSON.stringify(params.additionalProperty)}${hint}`;
    }
    case "enum":
      return `${at} must be one of ${(params.allowedValues as unknown[]).map(String).join(", ")}, got ${got(e.data)}`;
    case "anyOf": {
      const expected = (e.schema as Array<{ description?: unknown; type?: unknown }>).map((b) =>
        String(b.description ?? b.type),
      );
      return `${at} must be ${expected.join(" or ")}, got ${got(e.data)}`;
    }
    case "required":
      return `${at} lacks the required key ${JSON.stringify(params.missingProperty)}`;
    default:
      return `${at} ${e.message ?? "is invalid"}, got ${got(e.data)}`;
  }
}
