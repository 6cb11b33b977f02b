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
import { managedNames } from "../managed/render.js";
import { optionalSecretValue, readSecretValue, readSecretValues } from "./secrets.js";

export interface ConnectionPoolOptions {
  core: CoreV1Api;
  timeoutMs: number;
  limits: LimiterConfig;
  /** How long a realm's client list may serve the client reads (src/keycloak/clientSnapshot.ts); 0 = off. */
  clientSnapshotMaxAgeMs?: number;
  /**
   * How long the admin credentials (and CA) read from an instance's Secrets serve the reconciles of
   * its realms, clients and users before they are read again; 0 (default) = read on every call.
   */
  secretsMaxAgeMs?: number;
  /** Milliseconds now; Date.now by default. */
  now?: () => number;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Where and how an instance's admin API is reached. */
interface Target {
  url: string;
  credentials: AdminCredentials;
  caPem?: string;
  insecureSkipVerify: boolean;
  /** The certificate's name when the URL's host is not it (a managed instance's pod IP). */
  servername?: string;
}

export class ConnectionPool {
  readonly #core: CoreV1Api;
  readonly #timeoutMs: number;
  readonly #limiter: RequestLimiter;
  readonly #snapshotMaxAgeMs: number;
  readonly #connections = new Map<
    string,
    { fingerprint: string; connection: KeycloakConnection; target: Target }
  >();
  /**
   * A managed instance's admin credentials from before its admin Secret changed, until the new ones
   * have been carried over into Keycloak (carryOverAdminPassword) or are seen to work. Memory only.
   */
  readonly #previousAdmin = new Map<string, AdminCredentials>();
  /**
   * The target last read per instance, with what it was read for. Without it every reconcile of a
   * client would GET the instance's admin Secret: 1000 API-server reads per resync at 1000 clients.
   */
  readonly #targets = new Map<string, { readAt: number; readFor: string; target: Target }>();
  readonly #secretsMaxAgeMs: number;
  readonly #now: () => number;

  constructor(options: ConnectionPoolOptions) {
    this.#core = options.core;
    this.#timeoutMs = options.timeoutMs;
    this.#limiter = new RequestLimiter(options.limits);
    this.#snapshotMaxAgeMs = options.clientSnapshotMaxAgeMs ?? 0;
    this.#secretsMaxAgeMs = options.secretsMaxAgeMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The connection for an instance; throws a classified error that says what to fix. A managed
   * instance is reached at `managedUrl` (the instance's reconcile, which has just found the address)
   * or else at its status.url, with the admin Secret the operator fed to Keycloak.
   */
  async forInstance(
    instance: KeycloakInstance,
    managedUrl?: string,
    options: { reread?: boolean } = {},
  ): Promise<KeycloakConnection> {
    const namespace = instance.metadata.namespace ?? "default";
    const key = formatKey(objectKeyOf(namespace, instance.metadata.name ?? ""));
    const url = managedUrl ?? instance.status?.url;
    // The Secrets are read again when the instance's spec or address changed, when the caller asks
    // (the instance's own reconcile, which a rotated managed admin Secret triggers) or once their
    // values are older than the maximum age (a rotated external admin Secret, which is not watched).
    const readFor = JSON.stringify([instance.metadata.uid, instance.spec, url]);
    const known = this.#targets.get(key);
    const fresh =
      !options.reread &&
      known?.readFor === readFor &&
      this.#now() - known.readAt < this.#secretsMaxAgeMs &&
      this.#connections.get(key)?.target === known.target;
    const cachedConnection = fresh ? this.#connections.get(key)?.connection : undefined;
    if (cachedConnection) return cachedConnection;
    const readAt = this.#now();
    const target = instance.spec.external
      ? await this.#externalTarget(namespace, key, instance.spec.external)
      : instance.spec.managed
        ? await this.#managedTarget(namespace, key, instance, url)
        : undefined;
    if (!target) {
      throw new PermanentError(
        `KeycloakInstance ${key} sets neither spec.external nor spec.managed; set one of them`,
      );
    }
    this.#targets.set(key, { readAt, readFor, target });
    const fingerprint = createHash("sha256")
      .update(
        JSON.stringify([
          target.url,
          target.credentials,
          target.caPem ?? "",
          target.insecureSkipVerify,
          target.servername ?? "",
        ]),
      )
      .digest("hex");
    const cached = this.#connections.get(key);
    if (cached?.fingerprint === fingerprint) {
      cached.target = target;
      return cached.connection;
    }
    // A replaced connection may hold a TLS agent for a custom CA; release it.
    if (cached) void cached.connection.close();
    if (instance.spec.managed && cached && !sameJson(cached.target.credentials, target.credentials)) {
      this.#previousAdmin.set(key, this.#previousAdmin.get(key) ?? cached.target.credentials);
    }
    const connection = new KeycloakConnection({
      instance: key,
      baseUrl: target.url,
      credentials: target.credentials,
      timeoutMs: this.#timeoutMs,
      tls: {
        ...(target.caPem ? { caPem: target.caPem } : {}),
        insecureSkipVerify: target.insecureSkipVerify,
        ...(target.servername ? { servername: target.servername } : {}),
      },
      limiter: this.#limiter,
      clientSnapshot: { maxAgeMs: this.#snapshotMaxAgeMs },
    });
    this.#connections.set(key, { fingerprint, connection, target });
    return connection;
  }

  /**
   * Keycloak creates its bootstrap admin from KC_BOOTSTRAP_ADMIN_* on the first start only, so a
   * password rotated in a managed instance's admin Secret does not reach Keycloak by itself. When
   * the new password is refused and the operator still knows the previous one, it logs in with that
   * and sets the Secret's password on the admin user. Returns whether it did; false (nothing known
   * from before, e.g. after an operator restart) leaves the refusal to be reported.
   */
  async carryOverAdminPassword(instance: KeycloakInstance): Promise<boolean> {
    const namespace = instance.metadata.namespace ?? "default";
    const key = formatKey(objectKeyOf(namespace, instance.metadata.name ?? ""));
    const previous = this.#previousAdmin.get(key);
    const current = this.#connections.get(key)?.target;
    if (!previous || previous.kind !== "password" || current?.credentials.kind !== "password") return false;
    const { username, password } = current.credentials;
    if (previous.username !== username) return false;
    const old = new KeycloakConnection({
      instance: key,
      baseUrl: current.url,
      credentials: previous,
      timeoutMs: this.#timeoutMs,
      tls: {
        ...(current.caPem ? { caPem: current.caPem } : {}),
        insecureSkipVerify: current.insecureSkipVerify,
        ...(current.servername ? { servername: current.servername } : {}),
      },
      limiter: this.#limiter,
    });
    try {
      await old.call(
        { method: "PUT", what: `set the admin Secret's new password on user "${username}"`, namespace },
        async (admin) => {
          const [user] = await admin.users.find({ realm: "master", username, exact: true });
          if (!user?.id) throw new Error(`user "${username}" is not in realm master`);
          await admin.users.resetPassword({
            realm: "master",
            id: user.id,
            credential: { type: "password", value: password, temporary: false },
          });
        },
      );
    } finally {
      void old.close();
    }
    this.#previousAdmin.delete(key);
    return true;
  }

  /** The current admin credentials work: nothing from before is needed any more. */
  adminCredentialsWork(instance: KeycloakInstance): void {
    const namespace = instance.metadata.namespace ?? "default";
    this.#previousAdmin.delete(formatKey(objectKeyOf(namespace, instance.metadata.name ?? "")));
  }

  async #externalTarget(
    namespace: string,
    key: string,
    external: NonNullable<KeycloakInstance["spec"]["external"]>,
  ): Promise<Target> {
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
    return {
      url: external.url,
      credentials,
      ...(caPem ? { caPem } : {}),
      insecureSkipVerify: external.insecureSkipTLSVerify ?? false,
    };
  }

  async #managedTarget(
    namespace: string,
    key: string,
    instance: KeycloakInstance,
    url: string | undefined,
  ): Promise<Target> {
    if (!url) throw new TransientError(`KeycloakInstance ${key}: the managed Keycloak is not running yet`);
    const secret = managedNames(instance).adminSecret;
    const where = `${key} admin Secret`;
    const [username = "", password = ""] = await readSecretValues(
      this.#core,
      namespace,
      secret,
      ["username", "password"],
      where,
    );
    // The serving certificate's issuer, when the TLS Secret carries it (cert-manager writes ca.crt);
    // otherwise the system's trust store decides.
    const tls = instance.spec.managed?.tls;
    const caPem = tls
      ? await optionalSecretValue(this.#core, namespace, tls.secretName, "ca.crt", `${key} spec.managed.tls`)
      : undefined;
    // Reached at a pod's IP (--managed-address pod), the certificate is still the Service's.
    const serviceName = `${managedNames(instance).service}.${namespace}.svc`;
    const servername = tls && new URL(url).hostname !== serviceName ? serviceName : undefined;
    return {
      url,
      credentials: { kind: "password", username, password, realm: "master" },
      ...(caPem ? { caPem } : {}),
      insecureSkipVerify: false,
      ...(servername ? { servername } : {}),
    };
  }

  forget(namespace: string, name: string): void {
    const key = formatKey(objectKeyOf(namespace, name));
    this.#previousAdmin.delete(key);
    this.#targets.delete(key);
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
      const [username = "", password = ""] = await readSecretValues(
        this.#core,
        namespace,
        ref.name,
        [ref.usernameKey ?? "username", ref.passwordKey ?? "password"],
        where,
      );
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

/**
 * The base URL applications reach Keycloak at: what realm issuers and the credentials Secrets'
 * endpoints are made of. A managed instance with a hostname is reached there (Keycloak's hostname
 * option is a name or a URL; a bare name means https); without one, at the address the operator uses.
 */
export function publicBaseUrl(instance: KeycloakInstance): string {
  const hostname = instance.spec.managed?.hostname;
  const url = hostname
    ? /^https?:\/\//.test(hostname)
      ? hostname
      : `https://${hostname}`
    : (instance.spec.external?.url ?? instance.status?.url ?? "");
  return url.replace(/\/+$/, "");
}
