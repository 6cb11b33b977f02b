// One Keycloak admin connection per KeycloakInstance, rebuilt when the instance's URL, TLS settings
// or credentials Secret change. All connections share one request limiter (the global bucket plus a
// bucket per namespace). Secret values stay inside the connection; only names reach messages.
import { createHash } from "node:crypto";
import type { CoreV1Api } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import { KeycloakConnection, RequestLimiter, type LimiterConfig } from "../keycloak/index.js";
import type { AdminCredentials } from "../keycloak/connection.js";
import { formatKey, objectKeyOf } from "../kube/objectKey.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";
import { readSecretValue } from "./secrets.js";

export interface ConnectionPoolOptions {
  core: CoreV1Api;
  timeoutMs: number;
  limits: LimiterConfig;
  /** How long a realm's client list may serve the client reads (src/keycloak/clientSnapshot.ts); 0 = off. */
  clientSnapshotMaxAgeMs?: number;
}

export class ConnectionPool {
  readonly #core: CoreV1Api;
  readonly #timeoutMs: number;
  readonly #limiter: RequestLimiter;
  readonly #snapshotMaxAgeMs: number;
  readonly #connections = new Map<string, { fingerprint: string; connection: KeycloakConnection }>();

  constructor(options: ConnectionPoolOptions) {
    this.#core = options.core;
    this.#timeoutMs = options.timeoutMs;
    this.#limiter = new RequestLimiter(options.limits);
    this.#snapshotMaxAgeMs = options.clientSnapshotMaxAgeMs ?? 0;
  }

  /** The connection for an instance; throws a classified error that says what to fix. */
  async forInstance(instance: KeycloakInstance): Promise<KeycloakConnection> {
    const namespace = instance.metadata.namespace ?? "default";
    const key = formatKey(objectKeyOf(namespace, instance.metadata.name ?? ""));
    const external = instance.spec.external;
    if (!external) {
      throw new PermanentError(
        `KeycloakInstance ${key}: only spec.external is supported by this operator version; ` +
          `run Keycloak yourself and set spec.external.url and spec.external.adminCredentials`,
      );
    }
    const credentials = await this.#credentials(namespace, key, external);
    const caPem = external.caSecretRef
      ? await readSecretValue(
          this.#core,
          namespace,
          external.caSecretRef.name,
          external.caSecretRef.key ?? "ca.crt",
          `${key} spec.external.caSecretRef`,
        )
      : undefined;
    const fingerprint = createHash("sha256")
      .update(
        JSON.stringify([external.url, credentials, caPem ?? "", external.insecureSkipTLSVerify ?? false]),
      )
      .digest("hex");
    const cached = this.#connections.get(key);
    if (cached?.fingerprint === fingerprint) return cached.connection;
    // A replaced connection may hold a TLS agent for a custom CA; release it.
    if (cached) void cached.connection.close();
    const connection = new KeycloakConnection({
      instance: key,
      baseUrl: external.url,
      credentials,
      timeoutMs: this.#timeoutMs,
      tls: { ...(caPem ? { caPem } : {}), insecureSkipVerify: external.insecureSkipTLSVerify ?? false },
      limiter: this.#limiter,
      clientSnapshot: { maxAgeMs: this.#snapshotMaxAgeMs },
    });
    this.#connections.set(key, { fingerprint, connection });
    return connection;
  }

  forget(namespace: string, name: string): void {
    const key = formatKey(objectKeyOf(namespace, name));
    void this.#connections.get(key)?.connection.close();
    this.#connections.delete(key);
  }

  async #credentials(
    namespace: string,
    key: string,
    external: NonNullable<KeycloakInstance["spec"]["external"]>,
  ): Promise<AdminCredentials> {
    const admin = external.adminCredentials;
    const realm = external.realm ?? "master";
    if (admin.secretRef) {
      const ref = admin.secretRef;
      const where = `${key} spec.external.adminCredentials.secretRef`;
      const [username, password] = await Promise.all([
        readSecretValue(this.#core, namespace, ref.name, ref.usernameKey ?? "username", where),
        readSecretValue(this.#core, namespace, ref.name, ref.passwordKey ?? "password", where),
      ]);
      return { kind: "password", username, password, realm };
    }
    if (admin.clientCredentials) {
      const cc = admin.clientCredentials;
      const clientSecret = await readSecretValue(
        this.#core,
        namespace,
        cc.secretRef.name,
        cc.secretRef.key ?? "client-secret",
        `${key} spec.external.adminCredentials.clientCredentials.secretRef`,
      );
      return { kind: "clientCredentials", clientId: cc.clientId, clientSecret, realm };
    }
    throw new TransientError(
      `${key}: spec.external.adminCredentials names neither secretRef nor clientCredentials`,
    );
  }
}
