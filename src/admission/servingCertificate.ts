// The webhook's serving certificate, kept in a Secret that every replica reads and any replica may
// rotate. Self-managed, the Secret holds three CAs at all times — previous, current and next — and
// the ValidatingWebhookConfiguration's caBundle trusts all three:
//
//   rotation = the next CA issues the new serving certificate and becomes current; a new next CA
//              is made; the current one becomes previous (and the one before is dropped).
//
// So the CA of a certificate about to be served has been in the caBundle since the rotation before,
// long enough for the API server to have seen it; and a replica that has not re-read the Secret yet
// still serves a certificate of the previous CA, which stays trusted. A rotation is written with
// the Secret's resourceVersion as a precondition, so of two replicas rotating at once one wins and
// the other adopts its result. The next CA's key is kept (it must sign at promotion); the current
// CA's key is dropped once it has signed.
//
// With cert-manager (`manage: false`) the Secret is cert-manager's: it is only read, and the
// caBundle is cert-manager's CA injector's business.
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type AdmissionregistrationV1Api,
  type CoreV1Api,
  type V1Secret,
} from "@kubernetes/client-node";
import { loggerFor, type Logger } from "../observability/logger.js";
import {
  certificateFacts,
  createCa,
  issueServingCertificate,
  splitPemBundle,
  type KeyPairPem,
} from "./certificates.js";
import { admissionCertificateExpiry, admissionCertificateRotationsTotal } from "./metrics.js";

const DAY = 24 * 60 * 60 * 1000;

export const SECRET_KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  /** The caBundle: current, next and previous CA. */
  caBundle: "ca.crt",
  currentCa: "ca-current.crt",
  nextCa: "ca-next.crt",
  nextCaKey: "ca-next.key",
  previousCa: "ca-previous.crt",
} as const;

export interface ServingCertificateOptions {
  core: CoreV1Api;
  /** Needed to patch the caBundle; absent with cert-manager. */
  admission?: AdmissionregistrationV1Api;
  secret: { namespace: string; name: string };
  /** Self-managed: create, rotate and publish the certificate. False: only read it (cert-manager). */
  manage: boolean;
  /** The ValidatingWebhookConfiguration whose caBundle is kept equal to the Secret's ca.crt. */
  webhookConfiguration?: string;
  /** DNS names and IP addresses the serving certificate must name. */
  names: string[];
  /** Lifetime of a serving certificate (default 90 days); it is renewed when a third of it is left. */
  validityMs?: number;
  /** Called with every certificate read or made that differs from the last one. */
  onCertificate(pair: KeyPairPem): void;
  now?: () => Date;
  logger?: Logger;
}

type SecretData = Partial<Record<(typeof SECRET_KEYS)[keyof typeof SECRET_KEYS], string>>;

function decoded(secret: V1Secret): SecretData {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

function encoded(data: SecretData): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data)
      .filter((e): e is [string, string] => typeof e[1] === "string")
      .map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
  );
}

const isConflict = (err: unknown) => err instanceof ApiException && (err.code === 409 || err.code === 422);
const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;

export class ServingCertificate {
  readonly #o: ServingCertificateOptions;
  readonly #log: Logger;
  readonly #validityMs: number;
  #served: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;

  constructor(options: ServingCertificateOptions) {
    this.#o = options;
    this.#log = options.logger ?? loggerFor("admission");
    this.#validityMs = options.validityMs ?? 90 * DAY;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /** Reads the Secret, makes or rotates the certificate when due, publishes the caBundle, loads it. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync(false).finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  /** Rotates now, whatever the expiry (a compromised key, a test). Self-managed only. */
  async rotate(): Promise<void> {
    await this.#syncing;
    await this.#sync(true);
  }

  /** Re-syncs every `intervalMs` (a failed sync is logged; the certificate in use keeps serving). */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.sync().catch((err: unknown) =>
        this.#log.error(
          { err: (err as Error).message },
          "admission certificate sync failed; the current certificate keeps serving",
        ),
      );
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #read(): Promise<V1Secret | undefined> {
    const { namespace, name } = this.#o.secret;
    try {
      return await this.#o.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #sync(force: boolean): Promise<void> {
    const { namespace, name } = this.#o.secret;
    let secret = await this.#read();
    if (this.#o.manage) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const data = secret ? decoded(secret) : undefined;
        const due = force || !data || this.#renewalReason(data) !== undefined;
        if (!due) break;
        const next = await this.#rotated(data);
        try {
          secret = await this.#write(secret, next);
          admissionCertificateRotationsTotal.inc({ result: "success" });
          this.#log.info(
            {
              reason: force ? "asked to rotate" : data ? this.#renewalReason(data) : "no certificate yet",
            },
            `admission serving certificate issued into Secret ${namespace}/${name}`,
          );
          break;
        } catch (err) {
          if (!isConflict(err)) {
            admissionCertificateRotationsTotal.inc({ result: "failure" });
            throw err;
          }
          // Another replica wrote first: take its certificate, unless it is due too.
          secret = await this.#read();
          force = false;
        }
      }
    }
    if (!secret)
      throw new Error(`the webhook's certificate Secret ${namespace}/${name} does not exist (yet)`);
    const data = decoded(secret);
    const cert = data[SECRET_KEYS.cert];
    const key = data[SECRET_KEYS.key];
    const facts = certificateFacts(cert);
    if (!cert || !key || !facts)
      throw new Error(`the webhook's certificate Secret ${namespace}/${name} holds no tls.crt and tls.key`);
    if (this.#o.manage && this.#o.webhookConfiguration) await this.#publish(data[SECRET_KEYS.caBundle] ?? "");
    if (facts.fingerprint !== this.#served) {
      this.#served = facts.fingerprint;
      admissionCertificateExpiry.set(facts.notAfter.getTime() / 1000);
      this.#o.onCertificate({ cert, key });
      this.#log.info(
        { notAfter: facts.notAfter.toISOString(), issuer: facts.issuer },
        "admission serving certificate loaded",
      );
    }
  }

  /** Why the Secret's certificate must be replaced, or undefined when it is good. */
  #renewalReason(data: SecretData): string | undefined {
    const facts = certificateFacts(data[SECRET_KEYS.cert]);
    if (!facts || !data[SECRET_KEYS.key]) return "the Secret holds no usable serving certificate";
    if (!certificateFacts(data[SECRET_KEYS.nextCa]) || !data[SECRET_KEYS.nextCaKey])
      return "the Secret holds no next CA";
    const missing = this.#o.names.filter((n) => !facts.names.includes(n));
    if (missing.length > 0) return `the certificate does not name ${missing.join(", ")}`;
    const left = facts.notAfter.getTime() - this.#now().getTime();
    if (left < this.#validityMs / 3) return `the certificate expires at ${facts.notAfter.toISOString()}`;
    return undefined;
  }

  /** The Secret's data after one rotation (see the header); from nothing, a first set. */
  async #rotated(data: SecretData | undefined): Promise<SecretData> {
    const now = this.#now();
    // A CA waits up to one certificate lifetime as next, then signs one for another lifetime.
    const caValidity = 3 * this.#validityMs;
    const usableNext =
      data && certificateFacts(data[SECRET_KEYS.nextCa]) && data[SECRET_KEYS.nextCaKey]
        ? { cert: data[SECRET_KEYS.nextCa]!, key: data[SECRET_KEYS.nextCaKey]! }
        : undefined;
    const current = usableNext ?? (await createCa("kpo-admission-webhook-ca", caValidity, now));
    const serving = await issueServingCertificate(current, this.#o.names, this.#validityMs, now);
    const next = await createCa("kpo-admission-webhook-ca", caValidity, now);
    const previous =
      data && certificateFacts(data[SECRET_KEYS.currentCa]) ? data[SECRET_KEYS.currentCa] : undefined;
    return {
      [SECRET_KEYS.cert]: serving.cert,
      [SECRET_KEYS.key]: serving.key,
      [SECRET_KEYS.currentCa]: current.cert,
      [SECRET_KEYS.nextCa]: next.cert,
      [SECRET_KEYS.nextCaKey]: next.key,
      ...(previous ? { [SECRET_KEYS.previousCa]: previous } : {}),
      [SECRET_KEYS.caBundle]: [current.cert, next.cert, ...(previous ? [previous] : [])].join(""),
    };
  }

  async #write(existing: V1Secret | undefined, data: SecretData): Promise<V1Secret> {
    const { namespace, name } = this.#o.secret;
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name,
        namespace,
        labels: {
          "app.kubernetes.io/part-of": "keycloak-policy-operator",
          "app.kubernetes.io/component": "admission-webhook",
        },
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      data: encoded(data),
    };
    return existing
      ? this.#o.core.replaceNamespacedSecret({ namespace, name, body })
      : this.#o.core.createNamespacedSecret({ namespace, body });
  }

  /** Sets every webhook's caBundle of the configuration to `bundle`, when one differs. */
  async #publish(bundle: string): Promise<void> {
    const api = this.#o.admission;
    const name = this.#o.webhookConfiguration;
    if (!api || !name || splitPemBundle(bundle).length === 0) return;
    const config = await api.readValidatingWebhookConfiguration({ name });
    const wanted = Buffer.from(bundle, "utf8").toString("base64");
    const webhooks = config.webhooks ?? [];
    const ops = webhooks.flatMap((w, i) =>
      w.clientConfig.caBundle === wanted
        ? []
        : [{ op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: wanted }],
    );
    if (ops.length === 0) return;
    await api.patchValidatingWebhookConfiguration(
      {
        name,
        // Over the version read: a concurrent edit of the list makes the patch fail, and the next sync redoes it.
        body: [
          { op: "test", path: "/metadata/resourceVersion", value: config.metadata?.resourceVersion },
          ...ops,
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    this.#log.info(
      { webhookConfiguration: name, cas: splitPemBundle(bundle).length },
      "admission caBundle published",
    );
  }
}
