// `kpo diff`: what a reconcile of these manifests would change in a live Keycloak, without changing
// anything. Each KeycloakRealm, KeycloakClient and KeycloakUser is mapped to its desired state by
// the operator's own mapping (src/resources/*Representation.ts) and synced by the operator's own
// sync (src/keycloak/*Sync.ts) over a connection in plan mode (src/keycloak/plan.ts): the sync reads
// and compares as in a reconcile, and every write it would make is recorded instead of sent. An
// object that does not exist yet is reported as a create with its desired fields.
//
// Where the operator's handlers read their cluster (the owner's uid, the realm a client names, the
// Secrets a realm references), the command reads the files first, then the cluster of --instance.
// An owner uid nobody gives is taken from the Keycloak object when it names the same resource.
// Exit code 0: nothing would change; 1: something would; 2: an object could not be diffed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { Option, type Command } from "commander";
import {
  GROUP,
  PLURALS,
  VERSION,
  type KeycloakClient,
  type KeycloakRealm,
  type KeycloakUser,
} from "../api/index.js";
import { clientSecretName, realmRefOf } from "../api/refs.js";
import { syncClient } from "../keycloak/clientSync.js";
import { KeycloakConnection } from "../keycloak/connection.js";
import { KeycloakApiError } from "../keycloak/errors.js";
import {
  attributeValue,
  ownerNameAttribute,
  ownerNamespaceAttribute,
  ownerUidAttribute,
} from "../keycloak/ownership.js";
import { PlanStop, type FieldChange, type WritePlan } from "../keycloak/plan.js";
import { syncRealm } from "../keycloak/realmSync.js";
import { syncUser } from "../keycloak/userSync.js";
import { loadKubeConfig } from "../kube/config.js";
import { formatKey, type ObjectKey } from "../kube/objectKey.js";
import type { Operation } from "../policy/decision.js";
import type { PolicyEngine } from "../policy/engine.js";
import { ownerOf } from "../operator/realmHandler.js";
import { isConfidential, pendingRotation } from "../operator/clientHandler.js";
import { readSecretIfExists, readSecretValue } from "../operator/secrets.js";
import { desiredClient } from "../resources/clientRepresentation.js";
import { desiredRealm } from "../resources/realmRepresentation.js";
import { noSecrets, realmSecretReferences, type SecretReference } from "../resources/secretReferences.js";
import { desiredUser } from "../resources/userRepresentation.js";
import {
  CommandError,
  connectToInstance,
  keyOption,
  readInstance,
  urlCredentials,
  withUrlAccessOptions,
  type UrlAccessOptions,
} from "./instanceConnection.js";
import {
  BadInputError,
  cliPolicyEngine,
  defaultBundleDir,
  policyInputFromDocuments,
  readDocuments,
  type Io,
} from "./policyCommand.js";
import { exitCodeOf, formatJson, formatText, splitWrites, type ObjectDiff } from "./diffReport.js";

export interface DiffOptions extends UrlAccessOptions {
  file: string[];
  instance?: string;
  url?: string;
  kubeconfig?: string;
  /** Namespace of documents whose metadata names none. */
  namespace: string;
  output: "text" | "json";
  policy?: boolean;
  bundle?: string;
  data?: string;
}

type Doc = Awaited<ReturnType<typeof readDocuments>>[number];
type Diffed = KeycloakRealm | KeycloakClient | KeycloakUser;

const diffedKinds = ["KeycloakRealm", "KeycloakClient", "KeycloakUser"] as const;
const manifestFile = /\.(ya?ml|json)$/;

/** The files named by -f: a file as it is, a directory's YAML and JSON files (recursively), sorted. */
export function manifestFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (path: string, top: boolean) => {
    if (!existsSync(path)) throw new BadInputError(`-f ${path}: no such file or directory`);
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) walk(join(path, entry), false);
    } else if (top || manifestFile.test(path)) files.push(path);
  };
  for (const p of paths) walk(p, true);
  return files;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A document with its namespace filled in, as the API server would hold it. */
function withNamespace(doc: Doc, namespace: string): Doc {
  const own = doc.metadata?.namespace;
  return {
    ...doc,
    metadata: { ...doc.metadata, namespace: typeof own === "string" && own !== "" ? own : namespace },
    spec: isRecord(doc.spec) ? doc.spec : {},
  };
}

const text = (v: unknown) => (typeof v === "string" ? v : "");
const keyOf = (doc: { metadata?: { namespace?: unknown; name?: unknown } }) =>
  `${text(doc.metadata?.namespace)}/${text(doc.metadata?.name)}`;

/** What the command reads besides the files: the cluster of --instance, when it has one. */
interface Cluster {
  kubeConfig: KubeConfig;
  instance: ObjectKey;
}

class Sources {
  readonly docs: Doc[];
  readonly #cluster: Cluster | undefined;

  constructor(docs: Doc[], cluster: Cluster | undefined) {
    this.docs = docs;
    this.#cluster = cluster;
  }

  get cluster(): Cluster | undefined {
    return this.#cluster;
  }

  /** The live resource of that kind and key in the cluster, if there is a cluster and it exists. */
  async live<T>(kind: keyof typeof PLURALS, key: ObjectKey): Promise<T | undefined> {
    if (!this.#cluster) return undefined;
    try {
      return (await this.#cluster.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURALS[kind],
        namespace: key.namespace,
        name: key.name,
      })) as T;
    } catch {
      return undefined;
    }
  }

  /** The KeycloakRealm a client or user names: from the files, else from the cluster. */
  async realmOf(obj: KeycloakClient | KeycloakUser): Promise<KeycloakRealm> {
    const ref = realmRefOf(obj);
    const doc = this.docs.find((d) => d.kind === "KeycloakRealm" && keyOf(d) === formatKey(ref));
    const realm =
      (doc as KeycloakRealm | undefined) ?? (await this.live<KeycloakRealm>("KeycloakRealm", ref));
    if (!realm) {
      throw new CommandError(
        `${obj.kind} ${keyOf(obj)} names KeycloakRealm ${formatKey(ref)}, which is neither in the files nor (with --instance) in the cluster; add it with -f`,
      );
    }
    return realm;
  }

  /**
   * The rotation the client handler would make (spec.secret.rotate against its credentials
   * Secret's annotation), when the cluster holds that Secret.
   */
  async pendingRotation(client: KeycloakClient): Promise<string | undefined> {
    if (!this.#cluster || !isConfidential(client)) return undefined;
    const namespace = client.metadata.namespace ?? "";
    const name = clientSecretName(client);
    const existing = await readSecretIfExists(
      this.#cluster.kubeConfig.makeApiClient(CoreV1Api),
      namespace,
      name,
      `KeycloakClient ${keyOf(client)} credentials`,
    );
    return pendingRotation(client, existing);
  }

  /** A Secret's value: from a Secret document in the files, else from the cluster. Never printed. */
  async secret(namespace: string, ref: SecretReference, resource: string): Promise<string> {
    const doc = this.docs.find(
      (d) => d.kind === "Secret" && d.metadata?.name === ref.name && d.metadata.namespace === namespace,
    ) as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
    if (doc) {
      const encoded = doc.data?.[ref.key];
      const value =
        doc.stringData?.[ref.key] ??
        (encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8"));
      if (value === undefined)
        throw new CommandError(
          `Secret ${namespace}/${ref.name} (${resource} ${ref.field}) in the files has no key "${ref.key}"`,
        );
      return value;
    }
    if (!this.#cluster) {
      throw new CommandError(
        `${resource} ${ref.field} names Secret ${namespace}/${ref.name}; add it to the files with -f, or use --instance to read it from the cluster`,
      );
    }
    return readSecretValue(
      this.#cluster.kubeConfig.makeApiClient(CoreV1Api),
      namespace,
      ref.name,
      ref.key,
      `${resource} ${ref.field}`,
    );
  }
}

/**
 * The owner the operator would sync as: the resource's uid from its manifest, else from the
 * cluster, else from the Keycloak object when it names this very resource (same namespace and name).
 */
async function ownerFor(sources: Sources, obj: Diffed, existingAttributes: unknown) {
  const owner = ownerOf(obj);
  if (owner.uid !== "") return owner;
  const live = await sources.live<Diffed>(obj.kind, { namespace: owner.namespace, name: owner.name });
  if (live?.metadata.uid) return { ...owner, uid: live.metadata.uid };
  const uid = attributeValue(existingAttributes, ownerUidAttribute);
  const named =
    attributeValue(existingAttributes, ownerNamespaceAttribute) === owner.namespace &&
    attributeValue(existingAttributes, ownerNameAttribute) === owner.name;
  return { ...owner, uid: uid !== undefined && named ? uid : "" };
}

/** Reads that answer 404 when the realm itself does not exist: then nothing in it does either. */
async function orAbsent<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof KeycloakApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** The desired state as the fields of a create: its settings one by one, its collections whole. */
function createFields(desired: Record<string, unknown>, settingsKey: string): FieldChange[] {
  const fields: FieldChange[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    if (key === settingsKey && isRecord(value)) {
      for (const [field, v] of Object.entries(value)) if (v !== undefined) fields.push({ field, new: v });
    } else fields.push({ field: key, new: value });
  }
  return fields;
}

interface Planned {
  target: string;
  /** The object exists in Keycloak. */
  exists: boolean;
  /** Runs the sync in plan mode; absent when the object does not exist. */
  run?: () => Promise<unknown>;
  settingsKey: string;
  desired: Record<string, unknown>;
  stopAt: string;
}

async function planRealm(conn: KeycloakConnection, sources: Sources, realm: KeycloakRealm): Promise<Planned> {
  const namespace = realm.metadata.namespace ?? "";
  const secrets = new Map<string, string>();
  for (const ref of realmSecretReferences(realm.spec))
    secrets.set(ref.field, await sources.secret(namespace, ref, `KeycloakRealm ${keyOf(realm)}`));
  const desired = desiredRealm(realm.spec, secrets);
  const name = desired.realm.realm;
  const actual = await conn.call({ method: "GET", what: `read realm "${name}"` }, (kc) =>
    kc.realms.findOne({ realm: name }),
  );
  const owner = await ownerFor(sources, realm, actual?.attributes);
  return {
    target: `realm "${name}"`,
    exists: actual !== undefined,
    run: () => syncRealm(conn, desired, owner, { adopt: realm.spec.adopt ?? false }),
    settingsKey: "realm",
    desired: desired as unknown as Record<string, unknown>,
    stopAt: "realm",
  };
}

async function planClient(
  conn: KeycloakConnection,
  sources: Sources,
  client: KeycloakClient,
): Promise<Planned> {
  const realm = await sources.realmOf(client);
  const realmName = realm.status?.realmName ?? realm.spec.realmName;
  const desired = desiredClient(client.spec);
  const clientId = client.spec.clientId;
  const found = await orAbsent(
    conn.call({ method: "GET", what: `find client "${clientId}" in realm "${realmName}"` }, (kc) =>
      kc.clients.find({ realm: realmName, clientId }),
    ),
  );
  const actual = found?.find((c) => c.clientId === clientId);
  const owner = await ownerFor(sources, client, actual?.attributes);
  const rotation = actual === undefined ? undefined : await sources.pendingRotation(client);
  return {
    target: `client "${clientId}" in realm "${realmName}"`,
    exists: actual !== undefined,
    run: async () => {
      await syncClient(conn, realmName, desired, owner, { adopt: client.spec.adopt ?? false });
      if (rotation === undefined) return;
      // The handler's rotation, after the sync as in a reconcile (rotateClientSecret's write).
      conn.plan?.record({
        method: "POST",
        field: "secret",
        what: `regenerate secret of client "${clientId}" in realm "${realmName}" (spec.secret.rotate ${rotation})`,
        creates: false,
        changes: [{ field: "secret", secret: true }],
      });
    },
    settingsKey: "client",
    desired: desired as unknown as Record<string, unknown>,
    stopAt: "client",
  };
}

async function planUser(conn: KeycloakConnection, sources: Sources, user: KeycloakUser): Promise<Planned> {
  const realm = await sources.realmOf(user);
  const realmName = realm.status?.realmName ?? realm.spec.realmName;
  // The initial password is only ever part of the create; a diff never reads it.
  const desired = desiredUser(user.spec, noSecrets);
  const username = user.spec.username;
  const found = await orAbsent(
    conn.call({ method: "GET", what: `find user "${username}" in realm "${realmName}"` }, (kc) =>
      kc.users.find({ realm: realmName, username, exact: true }),
    ),
  );
  const actual = found?.find((u) => u.username === username);
  const owner = await ownerFor(sources, user, actual?.attributes);
  const fields = desired as unknown as Record<string, unknown>;
  return {
    target: `user "${username}" in realm "${realmName}"`,
    exists: actual !== undefined,
    run: () => syncUser(conn, realmName, desired, owner, { adopt: user.spec.adopt ?? false }),
    settingsKey: "user",
    desired: user.spec.initialPasswordSecretRef
      ? { ...fields, initialPassword: `(from Secret ${user.spec.initialPasswordSecretRef.name})` }
      : fields,
    stopAt: "user",
  };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One object's diff: the sync run in plan mode, or its create. */
async function diffObject(
  conn: KeycloakConnection,
  plan: WritePlan,
  sources: Sources,
  obj: Diffed,
): Promise<ObjectDiff> {
  const base = { kind: obj.kind, namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" };
  let planned: Planned;
  try {
    planned =
      obj.kind === "KeycloakRealm"
        ? await planRealm(conn, sources, obj)
        : obj.kind === "KeycloakClient"
          ? await planClient(conn, sources, obj)
          : await planUser(conn, sources, obj);
  } catch (err) {
    return { ...base, target: "?", action: "error", fields: [], changes: [], error: message(err) };
  }
  const create: ObjectDiff = {
    ...base,
    target: planned.target,
    action: "create",
    fields: createFields(planned.desired, planned.settingsKey),
    changes: [],
  };
  if (!planned.exists || !planned.run) return create;
  plan.begin(planned.stopAt);
  try {
    await planned.run();
  } catch (err) {
    // Deleted between the read above and the sync's own read: it would be created.
    if (err instanceof PlanStop) return create;
    return {
      ...base,
      target: planned.target,
      action: "error",
      ...splitWrites(plan.writes),
      error: message(err),
    };
  }
  const writes = plan.writes;
  return {
    ...base,
    target: planned.target,
    action: writes.length > 0 ? "update" : "unchanged",
    ...splitWrites(writes),
  };
}

async function connect(opts: DiffOptions): Promise<{ conn: KeycloakConnection; cluster?: Cluster }> {
  if ((opts.instance === undefined) === (opts.url === undefined))
    throw new CommandError("give exactly one of --instance and --url");
  if (opts.instance) {
    const instance = keyOption("--instance", opts.instance);
    const kubeConfig = loadKubeConfig(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
    return { conn: await connectToInstance(kubeConfig, instance), cluster: { kubeConfig, instance } };
  }
  const baseUrl = opts.url ?? "";
  return {
    conn: new KeycloakConnection({
      instance: baseUrl,
      baseUrl,
      credentials: urlCredentials(opts),
      timeoutMs: 60_000,
      ...(opts.caFile ? { tls: { caPem: readFileSync(opts.caFile, "utf8") } } : {}),
    }),
  };
}

async function openEngine(opts: DiffOptions): Promise<PolicyEngine> {
  const bundleDir = resolve(opts.bundle ?? defaultBundleDir());
  if (!existsSync(bundleDir)) {
    throw new CommandError(
      `no policy bundle at ${bundleDir}. Build one with scripts/policies.sh build, or pass --bundle <dir>`,
    );
  }
  return cliPolicyEngine(bundleDir, opts.data);
}

/** The documents policy input is built from: the files, and the KeycloakInstance of --instance. */
async function policyDocuments(sources: Sources): Promise<Doc[]> {
  const docs = [...sources.docs];
  const cluster = sources.cluster;
  if (cluster && !docs.some((d) => d.kind === "KeycloakInstance" && keyOf(d) === formatKey(cluster.instance)))
    docs.push((await readInstance(cluster.kubeConfig, cluster.instance)) as unknown as Doc);
  return docs;
}

/** Diffs every KeycloakRealm, KeycloakClient and KeycloakUser of the files; nothing is written. */
export async function runDiff(opts: DiffOptions): Promise<ObjectDiff[]> {
  const docs: Doc[] = [];
  for (const file of manifestFiles(opts.file))
    for (const doc of await readDocuments(file)) docs.push(withNamespace(doc, opts.namespace));
  const objects = diffedKinds.flatMap((kind) => docs.filter((d) => d.kind === kind)) as unknown as Diffed[];
  if (objects.length === 0)
    throw new BadInputError("the files hold no KeycloakRealm, KeycloakClient or KeycloakUser");
  const engine = opts.policy ? await openEngine(opts) : undefined;
  const { conn, cluster } = await connect(opts);
  // Before the first request: from here on this connection cannot write.
  const plan = conn.enterPlanMode();
  try {
    const sources = new Sources(docs, cluster);
    const forPolicy = engine ? await policyDocuments(sources) : [];
    const diffs: ObjectDiff[] = [];
    for (const obj of objects) {
      const diff = await diffObject(conn, plan, sources, obj);
      if (engine) {
        const operation: Operation = diff.action === "create" ? "create" : "update";
        const self = obj as unknown as Doc;
        const others = forPolicy.filter((d) => d !== self);
        try {
          const input = policyInputFromDocuments([self, ...others], { namespace: opts.namespace, operation });
          diff.policy = { operation, decision: engine.decide(input) };
        } catch (err) {
          diff.action = "error";
          diff.error = `policy input: ${message(err)}`;
        }
      }
      diffs.push(diff);
    }
    return diffs;
  } finally {
    engine?.close();
    await conn.close();
  }
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs `kpo diff`; returns its exit code. */
export async function diffCommand(opts: DiffOptions, io: Io = processIo): Promise<number> {
  let diffs: ObjectDiff[];
  try {
    diffs = await runDiff(opts);
  } catch (err) {
    io.err(`kpo diff: ${message(err)}\n`);
    return 2;
  }
  io.out(opts.output === "json" ? formatJson(diffs) : formatText(diffs));
  return exitCodeOf(diffs);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerDiffCommand(program: Command): void {
  const command = program
    .command("diff")
    .description(
      "show what a reconcile of these KeycloakRealm, KeycloakClient and KeycloakUser manifests would change in Keycloak, writing nothing.\n" +
        "Exit code: 0 nothing would change, 1 something would, 2 error.",
    )
    .requiredOption(
      "-f, --file <file|dir>",
      "manifest file or directory (YAML/JSON, multi-document; repeatable)",
      collect,
    )
    .option(
      "--instance <ns/name>",
      "compare with this KeycloakInstance's Keycloak (as the operator reaches it)",
    )
    .option(
      "--url <url>",
      "compare with this Keycloak (admin credentials: --username/--password-file or --client-id/--client-secret-file)",
    )
    .option("--kubeconfig <path>", "kubeconfig file (default: KUBECONFIG or in-cluster)");
  withUrlAccessOptions(command)
    .option("-n, --namespace <name>", "namespace of documents whose metadata names none", "default")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--policy", "also print each object's policy decision (the operator's engine and input builder)")
    .option("--bundle <dir>", "policy bundle directory (default: $KPO_POLICY_BUNDLE or build/policy/bundle)")
    .option("--data <file>", "data override (JSON or YAML) merged over the bundle's data.json")
    // Usage errors are errors: exit 2, never 1 (which means "something would change").
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (opts: DiffOptions) => {
      process.exitCode = await diffCommand(opts);
    });
}
