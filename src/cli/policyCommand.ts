// `kpo policy eval`: evaluates a custom resource against the policy bundle offline, exactly as the
// operator would before any side effect, for security teams and CI. Exit 0 allowed, 1 denied,
// 2 bad input (unreadable file, unknown kind, malformed flag, no bundle).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { KINDS, type KeycloakResource } from "../api/index.js";
import type { ResolvedRef } from "../api/refs.js";
import { parseAllDocuments } from "yaml";
import { rootLogger } from "../observability/logger.js";
import { packageRoot } from "../packageRoot.js";
import { compactInput } from "../policy/compactInput.js";
import type { Decision, Operation, PolicyInput, ResourceKind } from "../policy/decision.js";
import { createPolicyEngine, type PolicyEngine } from "../policy/engine.js";
import { policyInputFor, type PolicyLookup } from "../policy/input.js";
import { registerPolicyAuditCommand } from "./policyAuditCommand.js";

/**
 * The policy engine as the CLI commands run it: the operator's engine over a bundle directory and
 * an optional data file, its JSON log lines silenced (they would interleave with the report; its
 * failures reach the user as the command's error) unless KPO_LOG_LEVEL asks for them.
 */
export function cliPolicyEngine(bundleDir: string, dataFile?: string): Promise<PolicyEngine> {
  return createPolicyEngine({
    bundleDir,
    ...(dataFile ? { dataOverrideFile: dataFile } : {}),
    logger: rootLogger.child({ component: "policy" }, { level: process.env.KPO_LOG_LEVEL ?? "silent" }),
  });
}

export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_BAD_INPUT = 2;

export interface PolicyEvalOptions {
  /** YAML/JSON file with the CR first, optionally followed by its targets and its Namespace. */
  file: string;
  /** Extra files holding targets (KeycloakInstance, KeycloakRealm) or the Namespace. */
  target?: string[];
  /** Namespace of the CR when its metadata has none (default "default"). */
  namespace?: string;
  /** "k=v,k2=v2" pairs, possibly repeated. */
  namespaceLabels?: string[];
  namespaceAnnotations?: string[];
  /** "realmsInNamespace=3,clientsInNamespace=2,clientsInRealm=7". */
  counts?: string[];
  operation?: string;
  bundle?: string;
  data?: string;
  output?: "table" | "json";
  printInput?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A problem with what the user gave us: reported on stderr with exit code 2. */
export class BadInputError extends Error {}

const kinds: readonly ResourceKind[] = KINDS;
const operations: readonly Operation[] = ["create", "update", "delete"];
const countKeys = ["realmsInNamespace", "clientsInNamespace", "clientsInRealm"] as const;

export type Doc = {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: Record<string, unknown>;
  spec?: unknown;
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function defaultBundleDir(): string {
  return process.env.KPO_POLICY_BUNDLE ?? join(packageRoot(), "build/policy/bundle");
}

export async function readDocuments(file: string): Promise<Doc[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new BadInputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const docs: Doc[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) {
      throw new BadInputError(`${file}: document ${i + 1} is not valid YAML: ${doc.errors[0]?.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value))
      throw new BadInputError(`${file}: document ${i + 1} is not a Kubernetes object (a mapping)`);
    docs.push(value);
  }
  return docs;
}

/** Parses "k=v,k2=v2" (possibly several such strings) into a map. */
export function parsePairs(values: string[] | undefined, flag: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (values ?? []).flatMap((v) => v.split(","))) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new BadInputError(`${flag}: "${item}" is not key=value (e.g. ${flag} team=a,env=prod)`);
    pairs[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return pairs;
}

export function parseCounts(values: string[] | undefined): PolicyInput["counts"] {
  const counts: PolicyInput["counts"] = {};
  for (const [key, raw] of Object.entries(parsePairs(values, "--counts"))) {
    if (!(countKeys as readonly string[]).includes(key)) {
      throw new BadInputError(`--counts: unknown count "${key}"; use ${countKeys.join(", ")}`);
    }
    if (!/^\d+$/.test(raw)) throw new BadInputError(`--counts: ${key}=${raw} is not a non-negative integer`);
    counts[key as (typeof countKeys)[number]] = Number(raw);
  }
  return counts;
}

function describeDoc(doc: Doc): string {
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return `${text(doc.kind)} ${text(doc.metadata?.namespace)}/${text(doc.metadata?.name)}`;
}

/**
 * A document as the API server would hold it: its namespace filled in (`namespace` when it names
 * none), its spec a mapping, and the reference every realm and client must carry (the CRDs require
 * it, so the operator never sees one without).
 */
function asResource(doc: Doc, namespace: string, what: string): KeycloakResource {
  const name = doc.metadata?.name;
  if (typeof name !== "string" || name === "") throw new BadInputError(`${what} has no metadata.name`);
  const ownNamespace = doc.metadata?.namespace;
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const ref =
    doc.kind === "KeycloakRealm"
      ? "instanceRef"
      : doc.kind === "KeycloakClient" || doc.kind === "KeycloakUser"
        ? "realmRef"
        : "";
  if (ref !== "" && !(isRecord(spec[ref]) && typeof spec[ref].name === "string")) {
    throw new BadInputError(`${what} has no spec.${ref}.name; the CRD requires it`);
  }
  return {
    ...doc,
    metadata: {
      ...doc.metadata,
      name,
      namespace: typeof ownNamespace === "string" && ownNamespace !== "" ? ownNamespace : namespace,
    },
    spec,
  } as KeycloakResource;
}

/** A document of one of the kinds as the API server would hold it (see asResource). */
export function toResource(doc: Doc, namespace: string): KeycloakResource {
  return asResource(doc, namespace, describeDoc(doc));
}

/**
 * The documents as the builder's lookup: what the operator finds in its caches, it finds here.
 * A reference that matches no document falls back to the only document of that kind, so a file
 * written by hand need not spell the reference out. The flags add labels and annotations to the
 * resource's own namespace, over those of its Namespace document.
 */
export function documentLookup(
  resources: KeycloakResource[],
  docs: Doc[],
  resourceNamespace: string,
  opts: Omit<PolicyEvalOptions, "file">,
): PolicyLookup {
  const ofKind = <K extends KeycloakResource["kind"]>(kind: K) =>
    resources.filter((r): r is Extract<KeycloakResource, { kind: K }> => r.kind === kind);
  const byRef = <T extends KeycloakResource>(candidates: T[], ref: ResolvedRef): T | undefined =>
    candidates.find((c) => c.metadata.name === ref.name && c.metadata.namespace === ref.namespace) ??
    (candidates.length === 1 ? candidates[0] : undefined);
  const inNamespace = <T extends KeycloakResource>(list: T[], namespace?: string): T[] =>
    namespace === undefined ? list : list.filter((r) => r.metadata.namespace === namespace);
  const strings = (value: unknown): Record<string, string> =>
    isRecord(value) ? (value as Record<string, string>) : {};
  return {
    instance: (ref) => byRef(ofKind("KeycloakInstance"), ref),
    realm: (ref) => byRef(ofKind("KeycloakRealm"), ref),
    realms: (namespace) => inNamespace(ofKind("KeycloakRealm"), namespace),
    clients: (namespace) => inNamespace(ofKind("KeycloakClient"), namespace),
    users: (namespace) => inNamespace(ofKind("KeycloakUser"), namespace),
    namespace(name) {
      const doc = docs.find((d) => d.kind === "Namespace" && d.metadata?.name === name);
      const flags = name === resourceNamespace;
      return {
        name,
        labels: {
          ...strings(doc?.metadata?.labels),
          ...(flags ? parsePairs(opts.namespaceLabels, "--namespace-labels") : {}),
        },
        annotations: {
          ...strings(doc?.metadata?.annotations),
          ...(flags ? parsePairs(opts.namespaceAnnotations, "--namespace-annotations") : {}),
        },
      };
    },
  };
}

/**
 * Builds the PolicyInput the operator would build, from the documents and flags: the operator's
 * own builder (src/policy/input.ts) over the documents, then the operation and any counts the
 * flags give.
 */
export function policyInputFromDocuments(docs: Doc[], opts: Omit<PolicyEvalOptions, "file">): PolicyInput {
  const [first, ...rest] = docs;
  if (!first)
    throw new BadInputError(
      "the file holds no document; put the KeycloakInstance, KeycloakRealm, KeycloakClient or KeycloakUser first",
    );
  const kind = first.kind;
  if (typeof kind !== "string" || !(kinds as readonly string[]).includes(kind)) {
    throw new BadInputError(`the first document is a ${String(kind)}; it must be one of ${kinds.join(", ")}`);
  }
  const operation = opts.operation ?? "create";
  if (!(operations as readonly string[]).includes(operation)) {
    throw new BadInputError(`--operation ${operation} is not one of ${operations.join(", ")}`);
  }
  const resource = asResource(first, opts.namespace ?? "default", `the ${kind}`);
  const namespace = resource.metadata.namespace ?? "";
  const others = rest
    .filter((d) => typeof d.kind === "string" && (kinds as readonly string[]).includes(d.kind))
    .map((d) => asResource(d, namespace, `target ${describeDoc(d)}`));
  const input = policyInputFor(documentLookup([resource, ...others], rest, namespace, opts), resource);
  return {
    ...input,
    operation: operation as Operation,
    counts: { ...input.counts, ...parseCounts(opts.counts) },
  };
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines.join("\n");
}

/** The decision as a person reads it: verdict, then one row per violation with its message below. */
export function formatTable(input: PolicyInput, decision: Decision, revision: string): string {
  const subject = `${input.kind} ${input.resource.metadata.namespace}/${input.resource.metadata.name}`;
  const verdict = decision.allowed
    ? decision.violations.length > 0
      ? "ALLOWED (with findings)"
      : "ALLOWED"
    : "DENIED";
  const lines = [`${subject} (${input.operation}): ${verdict}`, `policy bundle: ${revision}`];
  if (decision.violations.length === 0) {
    lines.push("", "No violations.");
    return lines.join("\n") + "\n";
  }
  // Grouped for reading: blocking findings first, then by policy and code.
  const violations = [...decision.violations].sort(
    (a, b) =>
      Number(b.enforcement === "enforce") - Number(a.enforcement === "enforce") ||
      a.policy.localeCompare(b.policy) ||
      a.code.localeCompare(b.code),
  );
  const rows = violations.map((v) => [v.policy, v.enforcement, v.code] as const);
  const widths = [0, 1, 2].map((i) =>
    Math.max(["POLICY", "ENFORCEMENT", "CODE"][i]!.length, ...rows.map((r) => r[i]!.length)),
  );
  const row = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  lines.push("", row(["POLICY", "ENFORCEMENT", "CODE"]));
  violations.forEach((v, i) => {
    lines.push(row(rows[i]!), wrap(v.message, 100, "    "));
  });
  return lines.join("\n") + "\n";
}

/** Runs `kpo policy eval` and returns its exit code; output goes through `io`. */
export async function runPolicyEval(opts: PolicyEvalOptions, io: Io = processIo): Promise<number> {
  let input: PolicyInput;
  try {
    const docs = await readDocuments(opts.file);
    for (const file of opts.target ?? []) docs.push(...(await readDocuments(file)));
    input = policyInputFromDocuments(docs, opts);
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    io.err(`kpo policy eval: ${err.message}\n`);
    return EXIT_BAD_INPUT;
  }
  if (opts.printInput) {
    // Exactly what the policies see (compacted, with the derived namespaceRefs), ready for `opa eval -I`.
    io.out(JSON.stringify(compactInput(input), null, 2) + "\n");
    return EXIT_ALLOWED;
  }

  const bundleDir = resolve(opts.bundle ?? defaultBundleDir());
  if (!existsSync(bundleDir)) {
    io.err(
      `kpo policy eval: no policy bundle at ${bundleDir}. Build one with scripts/policies.sh build, or pass --bundle <dir> (a directory holding .manifest, data.json and policy.wasm).\n`,
    );
    return EXIT_BAD_INPUT;
  }
  let engine;
  try {
    engine = await cliPolicyEngine(bundleDir, opts.data);
  } catch (err) {
    io.err(`kpo policy eval: ${(err as Error).message}\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    const decision = engine.decide(input);
    if (opts.output === "json") {
      const subject = `${input.kind} ${input.resource.metadata.namespace}/${input.resource.metadata.name}`;
      io.out(
        JSON.stringify(
          { resource: subject, operation: input.operation, revision: engine.revision, ...decision },
          null,
          2,
        ) + "\n",
      );
    } else {
      io.out(formatTable(input, decision, engine.revision));
    }
    return decision.allowed ? EXIT_ALLOWED : EXIT_DENIED;
  } finally {
    engine.close();
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("Work with the Rego policy bundle");
  policy
    .command("eval")
    .description(
      "Evaluate a KeycloakInstance, KeycloakRealm, KeycloakClient or KeycloakUser against the policies, offline, as the operator would.\n" +
        "The file's first document is the resource; further documents (or --target files) may hold the instance/realm it\n" +
        "references and its Namespace. Exit code: 0 allowed, 1 denied, 2 bad input.",
    )
    .requiredOption("-f, --file <file>", "YAML or JSON file; the first document is the resource to evaluate")
    .option(
      "--target <file>",
      "file with the referenced KeycloakInstance/KeycloakRealm (repeatable)",
      collect,
    )
    .option("-n, --namespace <name>", "namespace of the resource when its metadata has none", "default")
    .option("--namespace-labels <k=v,...>", "labels of the resource's namespace (repeatable)", collect)
    .option(
      "--namespace-annotations <k=v,...>",
      "annotations of the resource's namespace (repeatable)",
      collect,
    )
    .option(
      "--counts <name=n,...>",
      `existing objects, excluding this one, instead of those counted in the documents: ${countKeys.join(", ")}`,
      collect,
    )
    .addOption(
      new Option("--operation <op>", "what the operator is about to do")
        .choices(operations)
        .default("create"),
    )
    .option("--bundle <dir>", "policy bundle directory (default: $KPO_POLICY_BUNDLE or build/policy/bundle)")
    .option("--data <file>", "data override (JSON or YAML) merged over the bundle's data.json")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
    )
    .option("--print-input", "print the policy input exactly as the policies see it, and exit")
    // Usage errors (missing -f, bad --output) are bad input too: exit 2, never 1 (which means denied).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT))
    .action(async (opts: PolicyEvalOptions) => {
      process.exitCode = await runPolicyEval(opts);
    });
  registerPolicyAuditCommand(policy);
}
