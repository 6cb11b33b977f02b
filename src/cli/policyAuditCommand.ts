// `kpo policy audit`: every resource of some files (policy CI, before a bundle ships) or of a
// cluster (what a new bundle would say about what runs) decided at once by the operator's own audit
// (src/policy/audit.ts) over the operator's own input builder. Exit 0 nothing denied, 1 something
// denied (a violation in `enforce` mode), 2 bad input.
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { Option, type Command } from "commander";
import {
  CLIENT_PLURAL,
  GROUP,
  INSTANCE_PLURAL,
  KINDS,
  REALM_PLURAL,
  USER_PLURAL,
  VERSION,
  type KeycloakResource,
} from "../api/index.js";
import type { ResolvedRef } from "../api/refs.js";
import { loadKubeConfig } from "../kube/config.js";
import { auditResources, type AuditFinding } from "../policy/audit.js";
import type { PolicyEngine } from "../policy/engine.js";
import type { PolicyLookup } from "../policy/input.js";
import {
  BadInputError,
  cliPolicyEngine,
  defaultBundleDir,
  documentLookup,
  EXIT_ALLOWED,
  EXIT_BAD_INPUT,
  EXIT_DENIED,
  readDocuments,
  toResource,
  type Io,
} from "./policyCommand.js";

export interface PolicyAuditOptions {
  /** Files or directories (searched recursively for *.yaml, *.yml, *.json). */
  file?: string[];
  /** Read the resources from the cluster of the kubeconfig instead. */
  cluster?: boolean;
  kubeconfig?: string;
  /** Namespace of documents whose metadata names none (files), or the only namespace read (cluster). */
  namespace?: string;
  bundle?: string;
  data?: string;
  output?: "table" | "json";
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const manifestFile = /\.(ya?ml|json)$/i;

async function manifestFiles(path: string): Promise<string[]> {
  if (!existsSync(path)) throw new BadInputError(`${path} does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, e.name);
    if (e.isDirectory()) files.push(...(await manifestFiles(full)));
    else if (manifestFile.test(e.name)) files.push(full);
  }
  return files;
}

/** The resources of the files, and the lookup `kpo policy eval` uses over them. */
async function fromFiles(
  paths: string[],
  namespace: string,
  io: Io,
): Promise<{ resources: KeycloakResource[]; lookup: PolicyLookup }> {
  const docs = [];
  for (const path of paths)
    for (const file of await manifestFiles(path)) docs.push(...(await readDocuments(file)));
  // One object per kind and key, as in a cluster: a later document replaces an earlier one, as a
  // later `kubectl apply` would.
  const byKey = new Map<string, KeycloakResource>();
  for (const doc of docs) {
    if (!(typeof doc.kind === "string" && (KINDS as readonly string[]).includes(doc.kind))) continue;
    const resource = toResource(doc, namespace);
    const key = `${resource.kind} ${resource.metadata.namespace ?? ""}/${resource.metadata.name ?? ""}`;
    if (byKey.has(key))
      io.err(`kpo policy audit: ${key} appears in several documents; the last one is audited\n`);
    byKey.set(key, resource);
  }
  const resources = [...byKey.values()];
  if (resources.length === 0)
    throw new BadInputError(
      `no KeycloakInstance, KeycloakRealm, KeycloakClient or KeycloakUser in ${paths.join(", ")}`,
    );
  return { resources, lookup: documentLookup(resources, docs, "", {}) };
}

/** The cluster's resources and namespaces, looked up exactly as the operator's caches are. */
async function fromCluster(
  opts: PolicyAuditOptions,
): Promise<{ resources: KeycloakResource[]; lookup: PolicyLookup }> {
  const kc = loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
  const api = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  // Everything is read even with -n: a resource's instance, realm and quota counts may live elsewhere.
  const list = async (plural: string) =>
    (
      (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as {
        items: KeycloakResource[];
      }
    ).items;
  const resources: KeycloakResource[] = [];
  for (const [kind, plural] of [
    ["KeycloakInstance", INSTANCE_PLURAL],
    ["KeycloakRealm", REALM_PLURAL],
    ["KeycloakClient", CLIENT_PLURAL],
    ["KeycloakUser", USER_PLURAL],
  ] as const)
    for (const item of await list(plural)) resources.push({ ...item, kind } as KeycloakResource);
  const namespaces = new Map(
    (await core.listNamespace()).items.map((ns) => [
      ns.metadata?.name ?? "",
      { labels: ns.metadata?.labels ?? {}, annotations: ns.metadata?.annotations ?? {} },
    ]),
  );
  const ofKind = <K extends KeycloakResource["kind"]>(kind: K) =>
    resources.filter((r): r is Extract<KeycloakResource, { kind: K }> => r.kind === kind);
  const byRef = <T extends KeycloakResource>(candidates: T[], ref: ResolvedRef) =>
    candidates.find((c) => c.metadata.name === ref.name && c.metadata.namespace === ref.namespace);
  const inNamespace = <T extends KeycloakResource>(items: T[], namespace?: string) =>
    namespace === undefined ? items : items.filter((r) => r.metadata.namespace === namespace);
  const lookup: PolicyLookup = {
    instance: (ref) => byRef(ofKind("KeycloakInstance"), ref),
    realm: (ref) => byRef(ofKind("KeycloakRealm"), ref),
    realms: (namespace) => inNamespace(ofKind("KeycloakRealm"), namespace),
    clients: (namespace) => inNamespace(ofKind("KeycloakClient"), namespace),
    users: (namespace) => inNamespace(ofKind("KeycloakUser"), namespace),
    namespace: (name) => ({ name, labels: {}, annotations: {}, ...namespaces.get(name) }),
  };
  return { resources, lookup };
}

const subjectOf = (f: AuditFinding) => `${f.resource.kind} ${f.resource.namespace}/${f.resource.name}`;

/** One row per violation (or one "pass" / "skip" row per resource without), each message below it. */
export function formatAuditTable(findings: readonly AuditFinding[], revision: string): string {
  const rows: Array<{ cells: string[]; message?: string }> = [];
  for (const f of findings) {
    const subject = subjectOf(f);
    if (!f.decision) {
      rows.push({ cells: [subject, "-", "-", "skip", "-"], message: f.skipped });
      continue;
    }
    if (f.decision.violations.length === 0) rows.push({ cells: [subject, "-", "-", "pass", "-"] });
    for (const v of f.decision.violations)
      rows.push({
        cells: [
          subject,
          v.policy,
          v.enforcement,
          v.enforcement === "enforce" ? "deny" : v.enforcement,
          v.code,
        ],
        message: v.message,
      });
  }
  const header = ["RESOURCE", "POLICY", "ENFORCEMENT", "RESULT", "CODE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [`policy bundle: ${revision}`, "", line(header)];
  for (const r of rows) {
    out.push(line(r.cells));
    if (r.message) out.push(`    ${r.message}`);
  }
  const s = auditSummary(findings);
  out.push(
    "",
    `${s.resources} resource(s): ${s.denied} denied, ${s.withFindings} with findings, ${s.skipped} skipped`,
  );
  return out.join("\n") + "\n";
}

export function auditSummary(findings: readonly AuditFinding[]) {
  return {
    resources: findings.length,
    denied: findings.filter((f) => f.decision && !f.decision.allowed).length,
    withFindings: findings.filter((f) => (f.decision?.violations.length ?? 0) > 0).length,
    skipped: findings.filter((f) => !f.decision).length,
  };
}

export function auditJson(findings: readonly AuditFinding[], revision: string): string {
  return (
    JSON.stringify(
      {
        revision,
        summary: auditSummary(findings),
        results: findings.map((f) => ({
          resource: subjectOf(f),
          ...f.resource,
          operation: f.operation,
          ...(f.decision ? f.decision : { skipped: f.skipped }),
        })),
      },
      null,
      2,
    ) + "\n"
  );
}

/** Runs `kpo policy audit` and returns its exit code. */
export async function runPolicyAudit(opts: PolicyAuditOptions, io: Io = processIo): Promise<number> {
  const files = opts.file ?? [];
  if (opts.cluster === files.length > 0) {
    io.err("kpo policy audit: give either -f <dir|file> (repeatable) or --cluster\n");
    return EXIT_BAD_INPUT;
  }
  let source: { resources: KeycloakResource[]; lookup: PolicyLookup };
  try {
    source = opts.cluster ? await fromCluster(opts) : await fromFiles(files, opts.namespace ?? "default", io);
  } catch (err) {
    if (err instanceof BadInputError) {
      io.err(`kpo policy audit: ${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (!opts.cluster) throw err;
    io.err(`kpo policy audit: reading the cluster failed: ${(err as Error).message}\n`);
    return EXIT_BAD_INPUT;
  }
  const bundleDir = resolve(opts.bundle ?? defaultBundleDir());
  let engine: PolicyEngine;
  try {
    engine = await cliPolicyEngine(bundleDir, opts.data);
  } catch (err) {
    io.err(`kpo policy audit: ${(err as Error).message}\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    const audited =
      opts.cluster && opts.namespace
        ? source.resources.filter((r) => r.metadata.namespace === opts.namespace)
        : source.resources;
    const findings = auditResources(source.lookup, audited, engine.evaluate);
    io.out(
      opts.output === "json"
        ? auditJson(findings, engine.revision)
        : formatAuditTable(findings, engine.revision),
    );
    return findings.some((f) => f.decision && !f.decision.allowed) ? EXIT_DENIED : EXIT_ALLOWED;
  } finally {
    engine.close();
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerPolicyAuditCommand(policy: Command): void {
  policy
    .command("audit")
    .description(
      "Decide every KeycloakInstance, KeycloakRealm, KeycloakClient and KeycloakUser of some files (-f, offline, for policy CI)\n" +
        "or of a cluster (--cluster, through the kubeconfig) against the policies, as the operator's audit does, without\n" +
        "changing anything. Exit code: 0 nothing denied, 1 something denied (enforce), 2 bad input.",
    )
    .option(
      "-f, --file <dir|file>",
      "manifest file, or directory searched for *.yaml/*.yml/*.json (repeatable)",
      collect,
    )
    .option("--cluster", "read the resources and namespaces from the cluster of the kubeconfig")
    .option("--kubeconfig <path>", "kubeconfig for --cluster (default: $KUBECONFIG, ~/.kube/config)")
    .option(
      "-n, --namespace <name>",
      'with -f: namespace of documents that name none (default "default"); with --cluster: read only this namespace',
    )
    .option("--bundle <dir>", "policy bundle directory (default: $KPO_POLICY_BUNDLE or build/policy/bundle)")
    .option("--data <file>", "data override (JSON or YAML) merged over the bundle's data.json")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
    )
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT))
    .action(async (opts: PolicyAuditOptions) => {
      process.exitCode = await runPolicyAudit(opts);
    });
}
