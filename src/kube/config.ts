// Where the operator's Kubernetes credentials come from, in kubectl's order of precedence:
// an explicit --kubeconfig, then $KUBECONFIG, then the in-cluster service account, then ~/.kube/config.
import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeConfigSource {
  /** The --kubeconfig flag. */
  kubeconfigPath?: string;
  /** A context other than the current one. */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const env = source.env ?? process.env;
  const kc = new KubeConfig();
  let origin: string;
  if (source.kubeconfigPath) {
    if (!existsSync(source.kubeconfigPath)) {
      throw new Error(
        `kubeconfig ${source.kubeconfigPath} (from --kubeconfig) does not exist; pass a readable file`,
      );
    }
    kc.loadFromFile(source.kubeconfigPath);
    origin = `--kubeconfig ${source.kubeconfigPath}`;
  } else if (env.KUBECONFIG) {
    kc.loadFromDefault();
    origin = `KUBECONFIG=${env.KUBECONFIG}`;
  } else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    kc.loadFromCluster();
    origin = "in-cluster service account";
  } else {
    kc.loadFromDefault();
    origin = "~/.kube/config";
  }
  if (source.context) {
    if (!kc.getContextObject(source.context)) {
      throw new Error(
        `kubeconfig from ${origin} has no context "${source.context}"; list them with kubectl config get-contexts`,
      );
    }
    kc.setCurrentContext(source.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      `no Kubernetes cluster configured (looked at ${origin}); pass --kubeconfig, set KUBECONFIG, or run in a pod`,
    );
  }
  return kc;
}
