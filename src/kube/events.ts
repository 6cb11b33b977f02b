// Kubernetes Events for the people reading `kubectl describe`: lifecycle transitions, policy
// denials and errors. Core v1 Events are used because every kubectl and dashboard shows them.
// A repeat of the same event (same object, type, reason and message) within the aggregation window
// bumps the count and lastTimestamp of the existing Event instead of creating a new one, as
// client-go's EventCorrelator does, so a resource failing every few seconds does not flood etcd.
// Events are best effort: a failure to record one is logged and never fails a reconcile.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { loggerFor, type Logger } from "../observability/logger.js";
import { apiMessageOf, requestJson, statusCodeOf } from "./apiRequest.js";

export type EventType = "Normal" | "Warning";

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** source.component / reportingController. Default "keycloak-policy-operator". */
  component?: string;
  /** reportingInstance, e.g. the pod name. Default the host name. */
  instance?: string;
  /** A repeat within this window is aggregated into the existing Event. Default 10 minutes. */
  aggregateWindowMs?: number;
  logger?: Logger;
}

interface Seen {
  eventName: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeenAt: number;
}

const MAX_MESSAGE = 1024;

// Defence in depth: callers must never put secret values in a message, but a Keycloak error body
// echoed into one could. Anything that looks like `password: xyz` or a bearer token is masked.
const SECRET_PATTERNS: RegExp[] = [
  /((?:password|passwd|secret|token|client[-_]?secret|credential)s?["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi,
  /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
];

export function scrubSecrets(message: string): string {
  return SECRET_PATTERNS.reduce((m, re) => m.replace(re, "$1[redacted]"), message);
}

export class EventRecorder {
  readonly #kc: KubeConfig;
  readonly #component: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #log: Logger;
  readonly #seen = new Map<string, Seen>();
  /** Serialises writes per aggregation key so that two repeats cannot both create an Event. */
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.#kc = options.kubeConfig;
    this.#component = options.component ?? "keycloak-policy-operator";
    this.#instance = options.instance ?? hostname();
    this.#windowMs = options.aggregateWindowMs ?? 10 * 60_000;
    this.#log = options.logger ?? loggerFor("events");
  }

  /**
   * Record an event on `involved`. `reason` is UpperCamelCase (e.g. "PolicyDenied", "Provisioned");
   * `message` says what happened and what to do, and never contains secret values.
   * Resolves when written (or when writing failed and was logged); never rejects.
   */
  record(
    involved: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
    action = reason,
  ): Promise<void> {
    const text = scrubSecrets(message).slice(0, MAX_MESSAGE);
    const key = [
      involved.namespace,
      involved.kind,
      involved.name,
      involved.uid ?? "",
      type,
      reason,
      text,
    ].join("\u0000");
    const previous = this.#inflight.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#write(key, involved, type, reason, text, action));
    this.#inflight.set(key, next);
    void next.finally(() => {
      if (this.#inflight.get(key) === next) this.#inflight.delete(key);
    });
    return next;
  }

  async #write(
    key: string,
    involved: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
    action: string,
  ): Promise<void> {
    const now = new Date();
    const seen = this.#seen.get(key);
    const path = `/api/v1/namespaces/${encodeURIComponent(involved.namespace)}/events`;
    try {
      if (seen && Date.now() - seen.lastSeenAt < this.#windowMs) {
        try {
          await requestJson(this.#kc, {
            method: "PATCH",
            path: `${path}/${encodeURIComponent(seen.eventName)}`,
            contentType: "application/merge-patch+json",
            body: { count: seen.count + 1, lastTimestamp: now.toISOString().replace(/\.\d{3}Z$/, "Z") },
          });
          seen.count++;
          seen.lastSeenAt = Date.now();
          return;
        } catch (err) {
          // The Event expired (TTL, default 1 h) or was deleted: start a new one below.
          if (statusCodeOf(err) !== 404) throw err;
        }
      }
      const ts = now.toISOString().replace(/\.\d{3}Z$/, "Z");
      const eventName = `${involved.name}.${now.getTime().toString(16)}${randomBytes(2).toString("hex")}`;
      await requestJson(this.#kc, {
        method: "POST",
        path,
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: eventName, namespace: involved.namespace },
          involvedObject: {
            apiVersion: involved.apiVersion,
            kind: involved.kind,
            namespace: involved.namespace,
            name: involved.name,
            uid: involved.uid,
            resourceVersion: involved.resourceVersion,
          },
          type,
          reason,
          action,
          message,
          count: 1,
          firstTimestamp: ts,
          lastTimestamp: ts,
          eventTime: null,
          source: { component: this.#component, host: this.#instance },
          reportingComponent: this.#component,
          reportingInstance: this.#instance,
        },
      });
      this.#seen.set(key, {
        eventName,
        namespace: involved.namespace,
        count: 1,
        firstTimestamp: ts,
        lastSeenAt: Date.now(),
      });
      this.#prune();
    } catch (err) {
      this.#log.warn(
        { object: `${involved.kind} ${involved.namespace}/${involved.name}`, reason },
        `recording event failed: ${apiMessageOf(err)}; check RBAC for events (create, patch)`,
      );
    }
  }

  /** Forget aggregation entries older than the window so the map stays bounded. */
  #prune(): void {
    if (this.#seen.size < 4096) return;
    const cutoff = Date.now() - this.#windowMs;
    for (const [k, s] of this.#seen) if (s.lastSeenAt < cutoff) this.#seen.delete(k);
  }
}
