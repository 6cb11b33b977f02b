// Validates custom resources against the CRD schemas without an API server: for examples, for the
// offline `kpo` policy evaluation, and for tests. It checks types, required fields, enums, patterns,
// bounds and unknown fields (like kubectl's strict field validation). CEL rules
// (x-kubernetes-validations) are not evaluated here; the API server enforces them.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { CRD_KINDS, openApiSchema, readCrds, type CrdManifest, type CrdSchema } from "./crds.js";

export interface SchemaViolation {
  /** JSON pointer into the resource, e.g. /spec/realmName. */
  path: string;
  message: string;
}

const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The API server prunes unknown fields and kubectl rejects them; without this, ajv would accept typos. */
function closeObjects(schema: CrdSchema, isMetadata = false): CrdSchema {
  const copy: CrdSchema = { ...schema };
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([name, child]) => [
        name,
        closeObjects(child, name === "metadata"),
      ]),
    );
  }
  if (copy.items) copy.items = closeObjects(copy.items);
  if (typeof copy.additionalProperties === "object")
    copy.additionalProperties = closeObjects(copy.additionalProperties);
  if (
    copy.type === "object" &&
    copy.properties &&
    copy.additionalProperties === undefined &&
    !copy["x-kubernetes-preserve-unknown-fields"] &&
    !isMetadata
  ) {
    copy.additionalProperties = false;
  }
  return copy;
}

function describeError(error: ErrorObject): SchemaViolation {
  const path = error.instancePath === "" ? "/" : error.instancePath;
  if (error.keyword === "additionalProperties") {
    const field = (error.params as { additionalProperty?: string }).additionalProperty ?? "?";
    return { path, message: `unknown field "${field}"; check its spelling against docs/reference/crds.md` };
  }
  if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return { path, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}` };
  }
  return { path, message: error.message ?? error.keyword };
}

export type ResourceValidator = (resource: unknown) => SchemaViolation[];

/** A validator for all keycloak.kpo.dev kinds; it picks the schema by the resource's `kind`. */
export function createResourceValidator(crds: CrdManifest[] = readCrds()): ResourceValidator {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("date-time", dateTime);
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  const byKind = new Map<string, ValidateFunction>();
  for (const crd of crds) byKind.set(crd.spec.names.kind, ajv.compile(closeObjects(openApiSchema(crd))));

  return (resource) => {
    const kind = (resource as { kind?: unknown } | null)?.kind;
    const validate = typeof kind === "string" ? byKind.get(kind) : undefined;
    if (validate === undefined) {
      return [
        {
          path: "/kind",
          message: `kind must be one of ${CRD_KINDS.join(", ")}, got ${JSON.stringify(kind)}`,
        },
      ];
    }
    return validate(resource) ? [] : (validate.errors ?? []).map(describeError);
  };
}
