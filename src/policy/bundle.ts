// Loading one OPA bundle directory (.manifest, data.json, policy.wasm, as `opa build -t wasm` and
// scripts/policies.sh produce it) into an evaluator, and proving it works before anyone relies on it.
// Its data, and the data merged with an override, must match the data schema (dataSchema.ts): the
// bundle's own data.schema.json when it has one, else the one of the policies in this repository.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { Decision, PolicyInput } from "./decision.js";
import { encodeInput } from "./compactInput.js";
import { decisionShapeError } from "./decisionShape.js";
import { deepMerge, readDataOverride, type DataDocument } from "./dataOverride.js";
import {
  builtInDataSchema,
  DATA_SCHEMA_FILE,
  dataSchemaProblems,
  parseDataSchema,
  PolicyDataError,
} from "./dataSchema.js";

/** The Rego rule every bundle must export (package kpo, rule decision). */
export const ENTRYPOINT = "kpo/decision";

/** The files of a bundle directory, read in one go so a half-written update is compared whole. */
export interface BundleFiles {
  manifest: { revision?: unknown; wasm?: unknown };
  data: DataDocument;
  wasm: Buffer;
  /** Content hash of the bundle plus override, to tell a real change from a re-mount of the same files. */
  fingerprint: string;
  /** The manifest revision (else a content hash), plus "+data:<hash>" when an override is merged. */
  revision: string;
}

/** A loaded, probed bundle: evaluate() throws only on an internal wasm failure. */
export interface CompiledBundle {
  revision: string;
  fingerprint: string;
  /** The policies the bundle's data names (data.kpo.enforcement's keys), sorted. */
  policies: readonly string[];
  evaluate(input: PolicyInput): Decision;
}

const hash = (...parts: (string | Buffer)[]): string => {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest("hex").slice(0, 16);
};

const bundleFileNames = [".manifest", "data.json", "policy.wasm"] as const;

/** The three bundle files, or one Error naming every file that is missing or unreadable. */
async function readBundleFiles(dir: string): Promise<[Buffer, Buffer, Buffer]> {
  const results = await Promise.allSettled(bundleFileNames.map((name) => readFile(join(dir, name))));
  const missing: string[] = [];
  const unreadable: string[] = [];
  results.forEach((r, i) => {
    if (r.status === "fulfilled") return;
    const err = r.reason as NodeJS.ErrnoException;
    if (err.code === "ENOENT") missing.push(bundleFileNames[i]!);
    else unreadable.push(`${bundleFileNames[i]} (${err.message})`);
  });
  if (missing.length > 0 || unreadable.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing`] : []),
      ...(unreadable.length > 0 ? [`cannot read ${unreadable.join(", ")}`] : []),
    ];
    throw new Error(
      `${problems.join("; ")}; a bundle directory holds .manifest, data.json and policy.wasm (scripts/policies.sh build)`,
    );
  }
  return results.map((r) => (r as PromiseFulfilledResult<Buffer>).value) as [Buffer, Buffer, Buffer];
}

/** The bundle's data.schema.json, or undefined when it has none. */
async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${DATA_SCHEMA_FILE}: ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(name: string, buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads a bundle directory and the optional data override file. Throws with the reason. */
export async function readBundle(dir: string, dataOverrideFile?: string): Promise<BundleFiles> {
  const [[manifestBuf, dataBuf, wasm], schemaBuf] = await Promise.all([
    readBundleFiles(dir),
    readOptional(join(dir, DATA_SCHEMA_FILE)),
  ]);
  const manifest = parseJson(".manifest", manifestBuf);
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw new Error(".manifest is not a JSON object");
  }
  const bundleData = parseJson("data.json", dataBuf);
  if (typeof bundleData !== "object" || bundleData === null || Array.isArray(bundleData)) {
    throw new Error("data.json is not a JSON object");
  }
  const schema = schemaBuf ? parseDataSchema(schemaBuf.toString("utf8")) : builtInDataSchema;
  const schemaName = schemaBuf
    ? `the bundle's ${DATA_SCHEMA_FILE}`
    : `the policy data schema (policies/${DATA_SCHEMA_FILE})`;
  const bundleProblems = dataSchemaProblems(bundleData, schema);
  if (bundleProblems.length > 0) {
    throw new PolicyDataError(`data.json does not match ${schemaName}: ${bundleProblems.join("; ")}`);
  }
  const { revision: manifestRevision } = manifest as { revision?: unknown };
  let revision =
    typeof manifestRevision === "string" && manifestRevision !== ""
      ? manifestRevision
      : `sha256:${hash(manifestBuf, dataBuf, wasm)}`;
  let data = bundleData as DataDocument;
  let overrideRaw = "";
  if (dataOverrideFile !== undefined) {
    const override = await readDataOverride(dataOverrideFile);
    data = deepMerge(data, override.data);
    // The bundle's data matched, so whatever does not match now came from the override.
    const problems = dataSchemaProblems(data, schema);
    if (problems.length > 0) {
      throw new PolicyDataError(
        `data override ${dataOverrideFile} does not match ${schemaName}: ${problems.join("; ")}`,
      );
    }
    overrideRaw = override.raw;
    revision = `${revision}+data:${hash(overrideRaw)}`;
  }
  return {
    manifest,
    data,
    wasm,
    revision,
    fingerprint: hash(manifestBuf, dataBuf, wasm, "\0", schemaBuf ?? "", "\0", overrideRaw),
  };
}

/**
 * An input every valid bundle must answer with a well-formed Decision: a client in a namespace the
 * realm does not grant, so a policy set that allows it is at least suspicious (but not refused:
 * security teams may legitimately switch authorization to warn or dryrun).
 */
export const probeInput: PolicyInput = {
  operation: "create",
  kind: "KeycloakClient",
  resource: {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakClient",
    metadata: { name: "kpo-probe", namespace: "kpo-probe" },
    spec: { clientId: "kpo-probe", realmRef: { name: "kpo-probe", namespace: "kpo-probe-realm" } },
  },
  namespace: { name: "kpo-probe", labels: {}, annotations: {} },
  target: {
    realm: { metadata: { name: "kpo-probe", namespace: "kpo-probe-realm" }, spec: {} },
  },
  counts: { clientsInNamespace: 0, clientsInRealm: 0 },
  environment: {},
};

function evaluateWith(policy: LoadedPolicy, entrypoint: number, input: PolicyInput): unknown {
  let resultSet: unknown;
  try {
    resultSet = policy.evaluate(encodeInput(input), entrypoint);
  } catch (err) {
    // opa-wasm throws strings as well as Errors.
    throw new Error(`evaluation failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!Array.isArray(resultSet) || resultSet.length !== 1) {
    throw new Error(`${ENTRYPOINT} is undefined for the input (expected exactly one result)`);
  }
  return (resultSet[0] as { result?: unknown }).result;
}

/**
 * Compiles the wasm, loads the data, checks the entrypoint and answers the probe input. Throws an
 * Error whose message says what is wrong with the bundle.
 */
/** The policy names of a bundle's data document: data.kpo.enforcement's keys. */
export function policiesOfData(data: Record<string, unknown>): string[] {
  const kpo = data.kpo as { enforcement?: unknown } | undefined;
  const enforcement = kpo?.enforcement;
  return typeof enforcement === "object" && enforcement !== null ? Object.keys(enforcement).sort() : [];
}

export async function compileBundle(files: BundleFiles): Promise<CompiledBundle> {
  const wasmEntries = files.manifest.wasm;
  if (
    !Array.isArray(wasmEntries) ||
    !wasmEntries.some((e) => (e as { entrypoint?: unknown } | null)?.entrypoint === ENTRYPOINT)
  ) {
    throw new Error(
      `.manifest does not declare the wasm entrypoint ${ENTRYPOINT} (build with opa build -t wasm -e ${ENTRYPOINT})`,
    );
  }
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(files.wasm);
  } catch (err) {
    throw new Error(`policy.wasm does not load: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const entrypoints = policy.entrypoints as Record<string, number>;
  const entrypoint = entrypoints[ENTRYPOINT];
  if (entrypoint === undefined) {
    throw new Error(
      `policy.wasm has no entrypoint ${ENTRYPOINT} (it has: ${Object.keys(entrypoints).join(", ") || "none"})`,
    );
  }
  try {
    policy.setData(files.data);
  } catch (err) {
    throw new Error(
      `data cannot be loaded into the policy: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const probe = evaluateWith(policy, entrypoint, probeInput);
  const shapeError = decisionShapeError(probe);
  if (shapeError !== undefined) {
    throw new Error(`${ENTRYPOINT} does not return a Decision for the probe input: ${shapeError}`);
  }
  return {
    revision: files.revision,
    fingerprint: files.fingerprint,
    policies: policiesOfData(files.data),
    evaluate(input: PolicyInput): Decision {
      const result = evaluateWith(policy, entrypoint, input);
      const error = decisionShapeError(result);
      if (error !== undefined) throw new Error(`${ENTRYPOINT} returned a malformed Decision: ${error}`);
      return result as Decision;
    },
  };
}
