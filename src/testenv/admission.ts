// The admission webhook against a local API server, as the integration test and the admission
// benchmark run it: informer caches over the API server (what the operator's webhook decides
// with) and a ValidatingWebhookConfiguration for the four kinds that reaches the in-process
// webhook by clientConfig.url https://127.0.0.1:PORT (its caBundle is patched in by the webhook's
// self-managed certificate).
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, GROUP, VERSION } from "../api/index.js";
import { Informer } from "../kube/informers.js";
import type { Caches } from "../operator/facts.js";

export interface LocalCaches {
  caches: Caches;
  synced: () => boolean;
  stop: () => void;
}

/** The operator's five informer caches over `kubeConfig`, started and synced. */
export async function startLocalCaches(kubeConfig: k8s.KubeConfig, timeoutMs = 60_000): Promise<LocalCaches> {
  const informer = <T extends k8s.KubernetesObject>(apiVersion: string, plural: string) =>
    new Informer<T>({ kubeConfig, apiVersion, plural });
  const caches = {
    instances: informer(API_VERSION, "keycloakinstances"),
    realms: informer(API_VERSION, "keycloakrealms"),
    clients: informer(API_VERSION, "keycloakclients"),
    users: informer(API_VERSION, "keycloakusers"),
    namespaces: informer("v1", "namespaces"),
  } as unknown as Caches;
  const all = Object.values(caches) as Informer<k8s.KubernetesObject>[];
  for (const i of all) i.start();
  await Promise.all(all.map((i) => i.waitForSync(timeoutMs)));
  return {
    caches,
    synced: () => all.every((i) => i.hasSynced()),
    stop: () => {
      for (const i of all) i.stop();
    },
  };
}

export const WEBHOOK_NAME = "validate.keycloak.kpo.dev";

/**
 * Registers a webhook for CREATE and UPDATE of the four kinds at https://127.0.0.1:`port`/validate,
 * failurePolicy Fail (a webhook that cannot be reached shows as a refusal), only in the namespaces
 * `namespaceSelector` matches. No caBundle: the webhook's self-managed certificate patches it in.
 */
export async function registerLocalWebhook(
  kubeConfig: k8s.KubeConfig,
  opts: { name: string; port: number; namespaceSelector?: k8s.V1LabelSelector; timeoutSeconds?: number },
): Promise<void> {
  await kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
    body: {
      metadata: { name: opts.name },
      webhooks: [
        {
          name: WEBHOOK_NAME,
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Fail",
          timeoutSeconds: opts.timeoutSeconds ?? 5,
          clientConfig: { url: `https://127.0.0.1:${opts.port}/validate` },
          rules: [
            {
              apiGroups: [GROUP],
              apiVersions: [VERSION],
              operations: ["CREATE", "UPDATE"],
              resources: ["keycloakinstances", "keycloakrealms", "keycloakclients", "keycloakusers"],
              scope: "Namespaced",
            },
          ],
          ...(opts.namespaceSelector ? { namespaceSelector: opts.namespaceSelector } : {}),
        },
      ],
    },
  });
}
