// Install (create or replace) the CRDs from crds/ and wait until the API server serves them. Used by
// `make dev` and the integration tests; the Helm chart installs the same files.
import { ApiException, ApiextensionsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { crdDirectory, readCrdsForApiServer } from "../api/crds.js";

export async function installCrds(
  kc: KubeConfig,
  dir: string = crdDirectory(),
  timeoutMs = 30_000,
): Promise<string[]> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  // Through client-node's own YAML loader: a plain parse would lose `default`,
  // `x-kubernetes-validations` and friends, which its serializer only knows under other names.
  for (const crd of readCrdsForApiServer(dir)) {
    const name = crd.metadata?.name ?? "";
    try {
      await ext.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
      const existing = await ext.readCustomResourceDefinition({ name });
      crd.metadata = { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion ?? "" };
      await ext.replaceCustomResourceDefinition({ name, body: crd });
    }
    names.push(name);
  }
  await waitForEstablished(kc, names, timeoutMs);
  return names;
}

/** Waits until the API server serves every named CRD (condition Established). */
export async function waitForEstablished(kc: KubeConfig, names: string[], timeoutMs = 30_000): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
