// The admission webhook in front of the real kube-apiserver: served in-process on 127.0.0.1 over
// the operator's own pieces (informer caches, the standard policy bundle, the self-managed
// certificate in a real Secret with the caBundle patched into a real ValidatingWebhookConfiguration
// registered by URL). What the standard bundle denies is refused by the API server with the
// policy's message and never stored; a `warn` rule comes back as a Warning header; rotating the
// certificate (a new CA each time) keeps admission working; bad input gets a 400.
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tls from "node:tls";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdmissionWebhook, type RunningAdmissionWebhook } from "../../src/admission/index.js";
import { certificateFacts, splitPemBundle } from "../../src/admission/certificates.js";
import { SECRET_KEYS } from "../../src/admission/servingCertificate.js";
import { metricsText } from "../../src/observability/metrics.js";
import type { Caches } from "../../src/operator/facts.js";
import { createPolicyEngine, type PolicyEngine } from "../../src/policy/engine.js";
import { freePort } from "../../src/testenv/ports.js";
import { registerLocalWebhook, startLocalCaches, type LocalCaches } from "../../src/testenv/admission.js";
import { realPolicyBundle } from "../unit/policyBundle.js";
import {
  createNamespace,
  group,
  installCrds,
  kubeConfig,
  metricSum,
  Resources,
  startOperatorProcess,
  version,
  waitFor,
} from "./support.js";

const kc = kubeConfig();
const resources = new Resources(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
const admissionApi = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
const run = randomUUID().slice(0, 8);
const LABEL = "kpo.dev/admission-test";
const WEBHOOK_CONFIGURATION = `kpo-admission-test-${run}`;
const apiVersion = `${group}/${version}`;

let platform: string;
let granted: string;
let denied: string;
let warned: string;
let secretNamespace: string;
let port: number;
let engine: PolicyEngine;
let webhook: RunningAdmissionWebhook;
let caches: Caches;
let localCaches: LocalCaches;

const realm = (name: string, realmName = `${name}-${run}`) => ({
  apiVersion,
  kind: "KeycloakRealm",
  metadata: { name },
  spec: { instanceRef: { name: "kc", namespace: platform }, realmName },
});

/** The API server's refusal of a create, as the message kubectl prints. */
async function refusal(create: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof k8s.ApiException)) throw err;
    const body = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as { message?: string };
    return { code: err.code, message: body.message ?? "" };
  }
  throw new Error("the create was not refused");
}

/** A create by raw HTTPS, to read the response headers (client-node does not expose warnings). */
async function rawCreate(
  plural: string,
  namespace: string,
  body: unknown,
): Promise<{ status: number; warnings: string[] }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no cluster in the kubeconfig");
  const url = new URL(`${cluster.server}/apis/${group}/${version}/namespaces/${namespace}/${plural}`);
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { ...options, method: "POST", headers: { "Content-Type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => {
          const header = res.headers.warning;
          const warnings = header === undefined ? [] : Array.isArray(header) ? header : [header];
          resolve({ status: res.statusCode ?? 0, warnings });
        });
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The SHA-256 fingerprint of the certificate the webhook presents to a new connection. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on("error", reject);
  });
}

async function caBundle(): Promise<string[]> {
  const config = await admissionApi.readValidatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
  const bundle = config.webhooks?.[0]?.clientConfig.caBundle ?? "";
  return splitPemBundle(Buffer.from(bundle, "base64").toString("utf8"));
}

async function secretData(): Promise<Record<string, string>> {
  const secret = await core.readNamespacedSecret({ namespace: secretNamespace, name: "webhook-tls" });
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

function postToWebhook(body: string, to = port): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: to,
        path: "/validate",
        method: "POST",
        rejectUnauthorized: false,
        headers: { "Content-Type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  await installCrds(kc);
  const labels = { [LABEL]: run };
  [platform, granted, denied, warned, secretNamespace] = await Promise.all([
    createNamespace(kc, "adm-platform", labels),
    createNamespace(kc, "adm-granted", labels),
    createNamespace(kc, "adm-denied", labels),
    createNamespace(kc, "adm-warned", labels),
    // Outside the webhook's namespaces, like the operator's own namespace in the chart.
    createNamespace(kc, "adm-system"),
  ]);
  await resources.create("keycloakinstances", platform, {
    apiVersion,
    kind: "KeycloakInstance",
    metadata: { name: "kc" },
    spec: {
      external: { url: "https://keycloak.invalid", adminCredentials: { secretRef: { name: "kc-admin" } } },
      realmGrants: { namespaces: [granted] },
    },
  });
  await resources.create("keycloakrealms", granted, {
    ...realm("shop"),
    spec: { ...realm("shop").spec, clientGrants: { namespaces: [granted] } },
  });

  // The standard bundle, with the authorization policy in warn mode for one namespace.
  const dir = mkdtempSync(path.join(tmpdir(), "kpo-admission-"));
  const dataFile = path.join(dir, "data.json");
  writeFileSync(
    dataFile,
    JSON.stringify({ kpo: { namespaceEnforcement: { [warned]: { authorization: "warn" } } } }),
  );
  engine = await createPolicyEngine({ bundleDir: realPolicyBundle(), dataOverrideFile: dataFile });

  localCaches = await startLocalCaches(kc);
  caches = localCaches.caches;

  port = await freePort();
  // Only this file's namespaces: the other test files share the API server.
  await registerLocalWebhook(kc, {
    name: WEBHOOK_CONFIGURATION,
    port,
    namespaceSelector: { matchLabels: { [LABEL]: run } },
  });
  webhook = await startAdmissionWebhook({
    config: {
      bindAddress: `127.0.0.1:${port}`,
      certSecret: { namespace: secretNamespace, name: "webhook-tls" },
      certManagement: "self",
      webhookConfiguration: WEBHOOK_CONFIGURATION,
      certNames: ["127.0.0.1"],
    },
    kubeConfig: kc,
    caches,
    decide: engine.decide,
    ready: localCaches.synced,
  });
  // The API server picks a new webhook configuration up asynchronously: wait until a server-side
  // dry run of a denied realm is refused by the policy (nothing is stored by a dry run).
  await waitFor("the webhook to be in force", async () => {
    const { message } = await refusal(() =>
      resources.api.createNamespacedCustomObject({
        group,
        version,
        namespace: denied,
        plural: "keycloakrealms",
        body: realm("probe"),
        dryRun: "All",
      }),
    );
    // Thrown, so that a timeout says what the API server answered last.
    if (!message.includes("RealmNamespaceNotGranted")) throw new Error(message);
    return true;
  });
});

afterAll(async () => {
  await admissionApi
    .deleteValidatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION })
    .catch(() => undefined);
  await webhook?.stop();
  localCaches?.stop();
  engine?.close();
});

describe("admission webhook against the real API server", () => {
  it("refuses a realm the standard bundle denies, with the policy's message, and stores nothing", async () => {
    const { code, message } = await refusal(() => resources.create("keycloakrealms", denied, realm("shop")));
    expect(code).toBe(403);
    expect(message).toContain('admission webhook "validate.keycloak.kpo.dev" denied the request');
    expect(message).toContain(`[authorization/RealmNamespaceNotGranted]`);
    expect(message).toContain(
      `namespace "${denied}" may not create realms on KeycloakInstance ${platform}/kc`,
    );
    expect(await resources.gone("keycloakrealms", denied, "shop")).toBe(true);
  });

  it("refuses a client in a namespace the realm does not grant, and admits one it does", async () => {
    const client = (name: string) => ({
      apiVersion,
      kind: "KeycloakClient",
      metadata: { name },
      spec: { realmRef: { name: "shop", namespace: granted }, clientId: `${name}-${run}` },
    });
    const { message } = await refusal(() => resources.create("keycloakclients", denied, client("web")));
    expect(message).toContain("[authorization/ClientNamespaceNotGranted]");
    expect(message).toContain(
      `namespace "${denied}" may not create clients in KeycloakRealm ${granted}/shop`,
    );
    expect(await resources.gone("keycloakclients", denied, "web")).toBe(true);

    const created = await resources.create("keycloakclients", granted, client("web"));
    expect(created.metadata.uid).toBeTruthy();
  });

  it("admits a realm a warn rule flags, with the policy's message as a Warning header", async () => {
    // Not granted either, but the authorization policy only warns in this namespace.
    const answer = await rawCreate("keycloakrealms", warned, realm("flagged"));
    expect(answer.status).toBe(201);
    expect(answer.warnings.join("\n")).toContain(`namespace \\"${warned}\\" may not create realms`);
    expect(await resources.gone("keycloakrealms", warned, "flagged")).toBe(false);
  });

  it("keeps admitting and refusing across two certificate rotations, each with a new CA", async () => {
    const first = await secretData();
    const firstCa = first[SECRET_KEYS.currentCa]!;
    expect(await caBundle()).toEqual(splitPemBundle(first[SECRET_KEYS.caBundle]!));
    expect(await servedFingerprint()).toBe(certificateFacts(first[SECRET_KEYS.cert])?.fingerprint);

    for (const round of [1, 2]) {
      await webhook.certificate.rotate();
      const data = await secretData();
      expect(data[SECRET_KEYS.currentCa]).not.toBe(firstCa);
      // The caBundle the API server uses is the Secret's: previous, current and next CA.
      expect(await caBundle()).toEqual(splitPemBundle(data[SECRET_KEYS.caBundle]!));
      expect(await servedFingerprint()).toBe(certificateFacts(data[SECRET_KEYS.cert])?.fingerprint);
      const { message } = await refusal(() =>
        resources.create("keycloakrealms", denied, realm(`after-${round}`)),
      );
      expect(message).toContain("[authorization/RealmNamespaceNotGranted]");
      const created = await resources.create("keycloakrealms", granted, realm(`after-${round}`));
      expect(created.metadata.uid).toBeTruthy();
    }
    // Two rotations on, the first CA is trusted no more.
    expect((await caBundle()).map((c) => certificateFacts(c)?.fingerprint)).not.toContain(
      certificateFacts(firstCa)?.fingerprint,
    );
  });

  it("answers bad input to its endpoint with a 400 or a well-formed refusal, and counts what it decided", async () => {
    expect((await postToWebhook("{not json")).status).toBe(400);
    expect((await postToWebhook(JSON.stringify({ kind: "ConfigMap" }))).status).toBe(400);
    const pod = await postToWebhook(
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: "u",
          kind: { group: "", version: "v1", kind: "Pod" },
          operation: "CREATE",
          object: {},
        },
      }),
    );
    expect(pod.status).toBe(200);
    expect((JSON.parse(pod.body) as { response: unknown }).response).toMatchObject({
      uid: "u",
      allowed: false,
      status: { code: 400 },
    });
    const { body } = await metricsText();
    expect(
      metricSum(body, "kpo_admission_requests_total", { kind: "KeycloakRealm", result: "denied" }),
    ).toBeGreaterThan(0);
    expect(
      metricSum(body, "kpo_admission_requests_total", { kind: "KeycloakRealm", result: "warned" }),
    ).toBeGreaterThan(0);
    expect(
      metricSum(body, "kpo_admission_requests_total", { kind: "KeycloakClient", result: "allowed" }),
    ).toBeGreaterThan(0);
  });

  it("is served by `kpo run --webhook-bind-address`, which makes its own certificate Secret", async () => {
    const webhookPort = await freePort();
    const operator = await startOperatorProcess({
      name: "admission",
      extraArgs: [
        "--leader-election=false",
        `--policy-bundle=${realPolicyBundle()}`,
        `--namespaces=${[platform, granted, denied, warned].join(",")}`,
        `--webhook-bind-address=127.0.0.1:${webhookPort}`,
        `--webhook-cert-secret=${secretNamespace}/operator-webhook-tls`,
        "--webhook-cert-names=127.0.0.1",
      ],
    });
    try {
      const secret = await core.readNamespacedSecret({
        namespace: secretNamespace,
        name: "operator-webhook-tls",
      });
      expect(Object.keys(secret.data ?? {})).toEqual(
        expect.arrayContaining(["tls.crt", "tls.key", "ca.crt"]),
      );
      expect((await postToWebhook("[]", webhookPort)).status).toBe(400);
      const answer = await waitFor("the operator's caches to sync", async () => {
        const a = await postToWebhook(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: {
              uid: "from-kpo-run",
              kind: { group, version, kind: "KeycloakRealm" },
              operation: "CREATE",
              namespace: denied,
              object: { ...realm("shop"), metadata: { name: "shop", namespace: denied } },
            },
          }),
          webhookPort,
        );
        return a.status === 200 ? a : false;
      });
      expect((JSON.parse(answer.body) as { response: unknown }).response).toMatchObject({
        uid: "from-kpo-run",
        allowed: false,
        status: {
          code: 403,
          message: expect.stringContaining("[authorization/RealmNamespaceNotGranted]") as unknown,
        },
      });
    } finally {
      await operator.stop();
    }
  });
});
