// client-node's generated API clients with connections that are kept and reused. For every request
// the library's KubeConfig builds a new https.Agent from the kubeconfig's TLS settings, so every
// status patch, Secret apply and read opened a new TCP connection with a new TLS context and a full
// handshake: in a CPU profile of the scale bench that was most of the operator's own CPU time. Here
// the KubeConfig still decides everything per request (headers, a rotated token, the TLS settings);
// only its fresh agent is swapped for a kept-alive one with the same TLS settings, cached by them,
// so a changed CA or client certificate gets its own agent. One set of agents per KubeConfig
// (keptAliveAgentsOf) serves the generated clients and the raw requests (informer lists, events,
// the Lease) alike.
import { createHash } from "node:crypto";
import https from "node:https";
import {
  createConfiguration,
  KubernetesObjectApi,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from "@kubernetes/client-node";

const TLS_KEYS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

function fingerprint(options: https.AgentOptions): string {
  const h = createHash("sha256");
  for (const k of TLS_KEYS) {
    const v = options[k];
    h.update(`${k}=`);
    // Certificates and keys are Buffers or strings (or lists of them): hashed as bytes, since
    // JSON.stringify of a Buffer spells out every byte as a number.
    for (const part of Array.isArray(v) ? v : [v])
      h.update(Buffer.isBuffer(part) || typeof part === "string" ? part : JSON.stringify(part ?? null));
    h.update("\n");
  }
  return h.digest("hex");
}

/** The agents of one KubeConfig, by TLS settings. */
export class KeptAliveAgents {
  readonly #agents = new Map<string, https.Agent>();

  /** An agent with the TLS settings of `fresh` that keeps its connections; other kinds pass through. */
  reuse(fresh: unknown): unknown {
    // Proxy agents and plain http keep the library's behaviour.
    if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return fresh;
    const key = fingerprint(fresh.options);
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new https.Agent({ ...fresh.options, keepAlive: true });
      this.#agents.set(key, agent);
    }
    fresh.destroy();
    return agent;
  }

  get size(): number {
    return this.#agents.size;
  }

  destroy(): void {
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }
}

const agentsByConfig = new WeakMap<KubeConfig, KeptAliveAgents>();

/** The kept-alive agents of this KubeConfig, shared by every API client and raw request made with it. */
export function keptAliveAgentsOf(kc: KubeConfig): KeptAliveAgents {
  let agents = agentsByConfig.get(kc);
  if (!agents) {
    agents = new KeptAliveAgents();
    agentsByConfig.set(kc, agents);
  }
  return agents;
}

function configuration(kc: KubeConfig, agents: KeptAliveAgents): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new Error("kubeconfig has no current cluster: set current-context or pass --kubeconfig");
  const auth: SecurityAuthentication = {
    getName: () => kc.getName(),
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      context.setAgent(agents.reuse(context.getAgent()) as https.Agent);
    },
  };
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
  });
}

/** `kc.makeApiClient(type)`, with kept-alive connections. */
export function makeApiClient<T>(
  kc: KubeConfig,
  apiClientType: new (config: Configuration) => T,
  agents: KeptAliveAgents = keptAliveAgentsOf(kc),
): T {
  return new apiClientType(configuration(kc, agents));
}

class ObjectApi extends KubernetesObjectApi {
  constructor(kc: KubeConfig, agents: KeptAliveAgents) {
    super(configuration(kc, agents));
    this.setDefaultNamespace(kc);
  }
}

/** `KubernetesObjectApi.makeApiClient(kc)`, with kept-alive connections. */
export function makeObjectApiClient(
  kc: KubeConfig,
  agents: KeptAliveAgents = keptAliveAgentsOf(kc),
): KubernetesObjectApi {
  return new ObjectApi(kc, agents);
}
