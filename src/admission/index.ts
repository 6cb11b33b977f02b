// The validating admission webhook, wired: the certificate from its Secret (self-managed or
// cert-manager's), the HTTPS server, and the validator over the operator's caches and policy
// engine. See docs/operations.md "Admission webhook".
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { GROUP, VERSION, INSTANCE_PLURAL, REALM_PLURAL } from "../api/index.js";
import type { KeycloakInstance, KeycloakRealm } from "../api/index.js";
import type { Caches } from "../operator/facts.js";
import type { DecideFn } from "../policy/decision.js";
import { loggerFor } from "../observability/logger.js";
import { AdmissionServer } from "./server.js";
import { ServingCertificate } from "./servingCertificate.js";
import { admissionValidator, type LiveReader } from "./validator.js";

export interface AdmissionWebhookConfig {
  /** host:port of the HTTPS listener. */
  bindAddress: string;
  /** namespace/name of the Secret holding tls.crt and tls.key. */
  certSecret: { namespace: string; name: string };
  /** self: the operator makes, rotates and publishes the certificate; external: cert-manager does. */
  certManagement: "self" | "external";
  /** The ValidatingWebhookConfiguration whose caBundle the operator keeps (self-managed). */
  webhookConfiguration?: string;
  /** Names the serving certificate carries (the Service's DNS names, or 127.0.0.1). */
  certNames: string[];
  /** Serving certificate lifetime (self-managed). */
  certValidityMs?: number;
  /** How often the Secret is re-read (hot reload, rotation when due). Default 60 s. */
  certSyncIntervalMs?: number;
}

export interface RunningAdmissionWebhook {
  address: { host: string; port: number };
  certificate: ServingCertificate;
  stop(): Promise<void>;
}

const notFound = (err: unknown) => err instanceof ApiException && (err.code === 404 || err.code === 403);

/** Reads from the API server what the caches do not hold yet; a 404 (or no permission) is "not there". */
export function apiServerReader(kubeConfig: KubeConfig): LiveReader {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const get = async <T>(read: () => Promise<unknown>): Promise<T | undefined> => {
    try {
      return (await read()) as T;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  };
  return {
    async namespace(name) {
      const ns = await get<{
        metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }>(() => core.readNamespace({ name }));
      return ns
        ? { name, labels: ns.metadata?.labels ?? {}, annotations: ns.metadata?.annotations ?? {} }
        : undefined;
    },
    instance: (ref) =>
      get<KeycloakInstance>(() =>
        objects.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: INSTANCE_PLURAL,
          ...ref,
        }),
      ),
    realm: (ref) =>
      get<KeycloakRealm>(() =>
        objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: REALM_PLURAL, ...ref }),
      ),
  };
}

/**
 * Obtains the certificate (creating it when self-managed), then serves. Rejects when the first
 * certificate cannot be had: the webhook would otherwise listen with nothing to present.
 */
export async function startAdmissionWebhook(options: {
  config: AdmissionWebhookConfig;
  kubeConfig: KubeConfig;
  caches: Caches;
  decide: DecideFn;
  /** False until the caches synced. */
  ready: () => boolean;
  live?: LiveReader;
}): Promise<RunningAdmissionWebhook> {
  const { config, kubeConfig } = options;
  const log = loggerFor("admission");
  const server = new AdmissionServer({
    bindAddress: config.bindAddress,
    validator: admissionValidator({
      caches: options.caches,
      decide: options.decide,
      live: options.live ?? apiServerReader(kubeConfig),
    }),
    ready: options.ready,
    logger: log,
  });
  let first: { cert: string; key: string } | undefined;
  let listening = false;
  const certificate = new ServingCertificate({
    core: kubeConfig.makeApiClient(CoreV1Api),
    admission: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
    secret: config.certSecret,
    manage: config.certManagement === "self",
    ...(config.webhookConfiguration ? { webhookConfiguration: config.webhookConfiguration } : {}),
    names: config.certNames,
    ...(config.certValidityMs ? { validityMs: config.certValidityMs } : {}),
    onCertificate: (pair) => {
      if (listening) server.setCertificate(pair);
      else first = pair;
    },
    logger: log,
  });
  await certificate.sync();
  if (!first) throw new Error("the admission webhook's certificate sync loaded no certificate");
  const address = await server.start(first);
  listening = true;
  certificate.start(config.certSyncIntervalMs ?? 60_000);
  return {
    address,
    certificate,
    async stop() {
      certificate.stop();
      await server.stop();
    },
  };
}

/** The webhook's settings from the operator's, or undefined when it is off; throws on an incomplete set. */
export function admissionConfigOf(config: {
  webhookBindAddress: string | undefined;
  webhookCertSecret: string | undefined;
  webhookCertManagement: "self" | "external";
  webhookConfiguration: string | undefined;
  webhookCertNames: string[];
}): AdmissionWebhookConfig | undefined {
  if (!config.webhookBindAddress) return undefined;
  const [namespace, name, ...rest] = (config.webhookCertSecret ?? "").split("/");
  if (!namespace || !name || rest.length > 0)
    throw new Error(
      `--webhook-cert-secret / KPO_WEBHOOK_CERT_SECRET must be namespace/name when --webhook-bind-address is set, got "${config.webhookCertSecret ?? ""}"`,
    );
  if (config.webhookCertManagement === "self" && config.webhookCertNames.length === 0)
    throw new Error(
      "--webhook-cert-names / KPO_WEBHOOK_CERT_NAMES must list the names the API server calls the webhook by (e.g. kpo-webhook.kpo-system.svc) when the operator manages the certificate",
    );
  return {
    bindAddress: config.webhookBindAddress,
    certSecret: { namespace, name },
    certManagement: config.webhookCertManagement,
    ...(config.webhookConfiguration ? { webhookConfiguration: config.webhookConfiguration } : {}),
    certNames: config.webhookCertNames,
  };
}
