// Informers: a list/watch per resource (and per watched namespace) that fills a cache and tells
// handlers which keys changed. Handlers only enqueue keys; reconcilers read the cache.
//
// This builds on client-node's `Watch` rather than its `ListWatch` informer because that informer
// stops for good on any watch error other than 410 Gone, has no way to detect a watch that went
// silent (a half-open TCP connection delivers nothing and never closes), and cannot be told to
// relist (its resourceVersion is private). Here each scope is a small reflector, like client-go's:
//   list → replace the cache (emitting add/update/delete) → watch from the list's resourceVersion;
//   clean close (server timeout) → watch again from the last resourceVersion;
//   410 Gone → relist at once; any other error → relist after an exponential backoff with jitter;
//   no event (not even a bookmark) for `silentTimeoutMs` → relist; every `relistIntervalMs` → relist.
import { Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { loggerFor, type Logger } from "../observability/logger.js";
import { informerEventsTotal, informerRestartsTotal } from "../observability/metrics.js";
import { apiMessageOf, requestJson, statusCodeOf } from "./apiRequest.js";
import { objectKey } from "./objectKey.js";

export type InformerEventType = "add" | "update" | "delete";

export interface InformerEvent<T> {
  type: InformerEventType;
  /** "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
  key: string;
  object: T;
  /** The cached object before an update. */
  old?: T;
}

export type RestartReason = "error" | "gone" | "silent" | "relist" | "manual";

/** Every lifecycle transition of a reflector, as a typed event (for metrics, logs and tests). */
export type InformerLifecycleEvent =
  | { type: "listed"; scope: string; count: number; resourceVersion: string }
  | { type: "watching"; scope: string; resourceVersion: string }
  | { type: "watch-closed"; scope: string }
  | { type: "failed"; scope: string; message: string; retryInMs: number }
  | { type: "restart"; scope: string; reason: RestartReason };

export interface InformerOptions<T = KubernetesObject> {
  kubeConfig: KubeConfig;
  /** "v1" for the core group, otherwise "group/version", e.g. "keycloak.kpo.dev/v1alpha1". */
  apiVersion: string;
  /** The resource's plural name, e.g. "secrets", "keycloakrealms". */
  plural: string;
  /** Namespaces to watch; undefined or empty = all namespaces (or a cluster-scoped resource). */
  namespaces?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** Full relist (and an update event for every object) this often. Default 10 minutes. */
  relistIntervalMs?: number;
  /**
   * Restart a watch that delivered nothing, not even a bookmark, for this long. Default: the watch's
   * own timeout plus one minute, since a quiet but healthy watch may carry no bookmark for minutes
   * (kube-apiserver 1.34 sent the first one after about 2 minutes on an idle collection) and the
   * server ends it at its timeout anyway; the watchdog is for a watch whose connection hangs.
   */
  silentTimeoutMs?: number;
  /** Server-side watch timeout. Default random in [5, 10) minutes, which spreads reconnects (like client-go). */
  watchTimeoutSeconds?: number;
  /** Backoff after a failed list or watch: initial and maximum delay. Default 800 ms .. 30 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Page size of the list. Default 500. */
  pageSize?: number;
  /**
   * Applied to every listed or watched object before it is cached (after the default trim, see
   * trimObject). Lets a cache keep only what its readers use, e.g. a Secret's metadata.
   */
  transform?: (obj: T) => T;
  logger?: Logger;
}

export type ChangeHandler<T> = (event: InformerEvent<T>) => void;

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * What no reader of the cache uses and every object carries: managedFields (server-side apply
 * bookkeeping, often larger than the spec) and kubectl's last-applied copy of the whole object.
 * Dropped before caching; the operator's writes are patches and applies that never send them back.
 */
export function trimObject<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (meta) {
    delete meta.managedFields;
    if (meta.annotations && LAST_APPLIED in meta.annotations) {
      delete meta.annotations[LAST_APPLIED];
      if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
    }
  }
  return obj;
}

/** A Secret cache that only needs to know which Secrets exist: metadata only, no values in memory. */
export function metadataOnly<T extends KubernetesObject>(obj: T): T {
  const { metadata, apiVersion, kind } = obj as T & { data?: unknown; stringData?: unknown };
  return { apiVersion, kind, metadata } as T;
}

export { objectKey };

/** The collection path of a resource: /api/v1/namespaces/ns/secrets, /apis/g/v/plural, ... */
export function resourcePath(apiVersion: string, plural: string, namespace?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
}

interface ListBody<T> {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly resource: string;
  readonly #log: Logger;
  readonly #objects = new Map<string, Map<string, T>>();
  readonly #handlers = new Set<ChangeHandler<T>>();
  readonly #lifecycle = new Set<(e: InformerLifecycleEvent) => void>();
  readonly #reflectors: Reflector<T>[];
  #syncWaiters: Array<() => void> = [];
  #started = false;

  constructor(options: InformerOptions<T>) {
    this.resource = options.apiVersion.includes("/")
      ? `${options.plural}.${options.apiVersion.split("/")[0]}`
      : options.plural;
    this.#log = options.logger ?? loggerFor("informer", { resource: this.resource });
    const scopes = options.namespaces && options.namespaces.length > 0 ? options.namespaces : [undefined];
    this.#reflectors = scopes.map((ns) => new Reflector<T>(this, options, ns, this.#log));
  }

  /** Start listing and watching. Idempotent; returns at once (see waitForSync / hasSynced). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const r of this.#reflectors) r.start();
  }

  /** Stop every watch and timer. The cache keeps its last contents. */
  stop(): void {
    for (const r of this.#reflectors) r.stop();
    this.#started = false;
  }

  /** True once every watched scope completed its first list. */
  hasSynced(): boolean {
    return this.#reflectors.every((r) => r.synced);
  }

  /** Resolves when hasSynced(); rejects after `timeoutMs` with what is still missing. */
  async waitForSync(timeoutMs = 60_000): Promise<void> {
    if (this.hasSynced()) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.#syncWaiters.push(resolve)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const missing = this.#reflectors.filter((r) => !r.synced).map((r) => r.scope);
            reject(
              new Error(
                `informer for ${this.resource} not synced after ${timeoutMs} ms (scopes: ${missing.join(", ")}); ` +
                  `check that the resource exists (CRDs installed) and that RBAC allows list and watch`,
              ),
            );
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#objects.get(namespace ?? "")?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.#objects.get(namespace)?.values() ?? [])];
    return [...this.#objects.values()].flatMap((m) => [...m.values()]);
  }

  /** Register a change handler (it should only enqueue keys). Returns an unsubscribe function. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  onLifecycle(handler: (e: InformerLifecycleEvent) => void): () => void {
    this.#lifecycle.add(handler);
    return () => this.#lifecycle.delete(handler);
  }

  /** Drop every watch and relist now (operators: after a suspected cache problem; tests). */
  restart(reason: RestartReason = "manual"): void {
    for (const r of this.#reflectors) r.restart(reason, 0);
  }

  // ---- called by reflectors ----

  /** @internal */
  replace(namespace: string | undefined, items: T[]): void {
    const fresh = new Set(items.map(objectKey));
    const scoped =
      namespace !== undefined
        ? [[namespace, this.#objects.get(namespace)] as const]
        : [...this.#objects.entries()].map(([ns, m]) => [ns, m] as const);
    for (const [, byName] of scoped) {
      if (!byName) continue;
      for (const obj of [...byName.values()]) if (!fresh.has(objectKey(obj))) this.remove(obj);
    }
    for (const obj of items) this.upsert(obj);
  }

  /** @internal */
  upsert(obj: T): void {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    let byName = this.#objects.get(ns);
    if (!byName) {
      byName = new Map();
      this.#objects.set(ns, byName);
    }
    const old = byName.get(name);
    byName.set(name, obj);
    this.#emit(
      old
        ? { type: "update", key: objectKey(obj), object: obj, old }
        : { type: "add", key: objectKey(obj), object: obj },
    );
  }

  /** @internal */
  remove(obj: T): void {
    const ns = obj.metadata?.namespace ?? "";
    const byName = this.#objects.get(ns);
    const name = obj.metadata?.name ?? "";
    const cached = byName?.get(name);
    if (!byName || !cached) return;
    byName.delete(name);
    if (byName.size === 0) this.#objects.delete(ns);
    this.#emit({ type: "delete", key: objectKey(obj), object: obj });
  }

  /** @internal */
  lifecycle(event: InformerLifecycleEvent): void {
    if (event.type === "restart")
      informerRestartsTotal.inc({ resource: this.resource, reason: event.reason });
    if (event.type === "listed" && this.hasSynced()) {
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const resolve of waiters) resolve();
    }
    for (const h of this.#lifecycle) {
      try {
        h(event);
      } catch (err) {
        this.#log.error({ err }, "informer lifecycle handler threw; ignoring");
      }
    }
  }

  #emit(event: InformerEvent<T>): void {
    informerEventsTotal.inc({ resource: this.resource, type: event.type });
    for (const h of this.#handlers) {
      try {
        h(event);
      } catch (err) {
        // A faulty handler must not stop the watch or the other handlers.
        this.#log.error({ err, key: event.key }, "informer change handler threw; ignoring");
      }
    }
  }
}

/** One list/watch loop for one scope (a namespace, or all). */
class Reflector<T extends KubernetesObject> {
  readonly scope: string;
  synced = false;
  readonly #informer: Informer<T>;
  readonly #options: InformerOptions<T>;
  readonly #namespace: string | undefined;
  readonly #log: Logger;
  readonly #path: string;
  readonly #watch: Watch;
  /** Bumped on every (re)start; callbacks of an older generation are ignored. */
  #generation = 0;
  #resourceVersion = "";
  #failures = 0;
  #running = false;
  #abort: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #relistTimer: NodeJS.Timeout | undefined;
  #silentTimer: NodeJS.Timeout | undefined;
  /** The kind of the items, from the list's own kind ("SecretList" → "Secret"). */
  #listKind: string | undefined;

  constructor(
    informer: Informer<T>,
    options: InformerOptions<T>,
    namespace: string | undefined,
    log: Logger,
  ) {
    this.#informer = informer;
    this.#options = options;
    this.#namespace = namespace;
    this.scope = namespace ?? "*";
    this.#log = log.child({ scope: this.scope });
    this.#path = resourcePath(options.apiVersion, options.plural, namespace);
    this.#watch = new Watch(options.kubeConfig);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#resourceVersion = "";
    void this.#listAndWatch(++this.#generation);
  }

  stop(): void {
    this.#running = false;
    this.#generation++;
    this.#teardown();
  }

  /** Abandon the current list/watch and relist after `delayMs`. */
  restart(reason: RestartReason, delayMs: number): void {
    if (!this.#running) return;
    const gen = ++this.#generation;
    this.#teardown();
    this.#resourceVersion = "";
    this.#informer.lifecycle({ type: "restart", scope: this.scope, reason });
    this.#log.info({ reason, delayMs }, "restarting list/watch");
    if (delayMs <= 0) {
      void this.#listAndWatch(gen);
      return;
    }
    this.#retryTimer = setTimeout(() => void this.#listAndWatch(gen), delayMs);
  }

  #teardown(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#relistTimer);
    clearTimeout(this.#silentTimer);
  }

  #prepare(obj: T): T {
    const trimmed = trimObject(obj);
    return this.#options.transform ? this.#options.transform(trimmed) : trimmed;
  }

  #current(gen: number): boolean {
    return this.#running && gen === this.#generation;
  }

  #backoffMs(): number {
    const initial = this.#options.backoffInitialMs ?? 800;
    const max = this.#options.backoffMaxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.#failures - 1, 30));
    // Jitter in [base/2, base] so that many informers failing together do not retry in lockstep.
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  #fail(gen: number, err: unknown, during: "list" | "watch"): void {
    if (!this.#current(gen)) return;
    this.#failures++;
    const retryInMs = this.#backoffMs();
    const message = apiMessageOf(err);
    const status = statusCodeOf(err);
    const hint =
      status === 404
        ? "the resource type is not served: install the CRDs (crds/) or fix apiVersion/plural"
        : status === 401 || status === 403
          ? "the operator's credentials or RBAC do not allow list/watch on it: check the ClusterRole"
          : "will retry";
    this.#informer.lifecycle({ type: "failed", scope: this.scope, message, retryInMs });
    this.#log.warn(
      { during, status, retryInMs, failures: this.#failures },
      `${during} failed: ${message}; ${hint}`,
    );
    this.restart("error", retryInMs);
  }

  async #listAndWatch(gen: number): Promise<void> {
    if (!this.#current(gen)) return;
    const items: T[] = [];
    let resourceVersion = "";
    try {
      let continueToken: string | undefined;
      do {
        const page = (await requestJson(this.#options.kubeConfig, {
          path: this.#path,
          query: {
            labelSelector: this.#options.labelSelector,
            fieldSelector: this.#options.fieldSelector,
            limit: this.#options.pageSize ?? 500,
            continue: continueToken,
          },
        })) as ListBody<T>;
        if (!this.#current(gen)) return;
        for (const obj of page.items ?? []) items.push(obj);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        if (page.kind?.endsWith("List")) this.#listKind = page.kind.slice(0, -"List".length);
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
    } catch (err) {
      this.#fail(gen, err, "list");
      return;
    }
    // Lists of built-in kinds omit apiVersion/kind on items; restore them so handlers see whole objects.
    for (const obj of items) {
      obj.apiVersion ??= this.#options.apiVersion;
      if (this.#listKind) obj.kind ??= this.#listKind;
    }
    this.#informer.replace(
      this.#namespace,
      items.map((obj) => this.#prepare(obj)),
    );
    this.#resourceVersion = resourceVersion;
    this.synced = true;
    this.#informer.lifecycle({ type: "listed", scope: this.scope, count: items.length, resourceVersion });
    const relistMs = this.#options.relistIntervalMs ?? 10 * 60_000;
    this.#relistTimer = setTimeout(() => this.restart("relist", 0), relistMs);
    await this.#startWatch(gen);
  }

  #armSilentTimer(gen: number, watchTimeoutSeconds: number): void {
    clearTimeout(this.#silentTimer);
    const silentMs = this.#options.silentTimeoutMs ?? watchTimeoutSeconds * 1000 + 60_000;
    this.#silentTimer = setTimeout(() => {
      if (!this.#current(gen)) return;
      this.#log.warn({ silentMs }, "watch delivered nothing, not even a bookmark; assuming it is dead");
      this.restart("silent", 0);
    }, silentMs);
  }

  async #startWatch(gen: number): Promise<void> {
    if (!this.#current(gen)) return;
    const startedAt = Date.now();
    let gone = false;
    let errorMessage: string | undefined;
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    this.#armSilentTimer(gen, timeoutSeconds);
    const onEvent = (phase: string, obj: T & { code?: number; message?: string }): void => {
      if (!this.#current(gen)) return;
      this.#armSilentTimer(gen, timeoutSeconds);
      if (phase !== "ERROR") this.#failures = 0;
      switch (phase) {
        case "ADDED":
        case "MODIFIED":
          obj.apiVersion ??= this.#options.apiVersion;
          this.#informer.upsert(this.#prepare(obj));
          break;
        case "DELETED":
          this.#informer.remove(obj);
          break;
        case "BOOKMARK":
          break;
        case "ERROR":
          // The server reports an expired resourceVersion as an ERROR event with code 410, then closes.
          if (obj.code === 410) gone = true;
          else errorMessage = obj.message ?? `watch error event (code ${obj.code ?? "unknown"})`;
          return;
        default:
          return;
      }
      const rv = obj.metadata?.resourceVersion;
      if (rv) this.#resourceVersion = rv;
    };
    const onDone = (err: unknown): void => {
      if (!this.#current(gen)) return;
      clearTimeout(this.#silentTimer);
      this.#abort = undefined;
      this.#informer.lifecycle({ type: "watch-closed", scope: this.scope });
      if (gone || statusCodeOf(err) === 410) {
        this.restart("gone", 0);
      } else if (err || errorMessage) {
        this.#fail(gen, err ?? new Error(errorMessage), "watch");
      } else if (Date.now() - startedAt < 1000) {
        // A watch the server closes at once, repeatedly, would otherwise spin; treat it as a failure.
        this.#fail(gen, new Error("watch closed immediately by the server"), "watch");
      } else {
        this.#failures = 0;
        void this.#startWatch(gen);
      }
    };
    try {
      const abort = await this.#watch.watch(
        this.#path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.#options.labelSelector,
          fieldSelector: this.#options.fieldSelector,
        },
        onEvent,
        onDone,
      );
      if (this.#current(gen) && this.#abort === undefined) {
        this.#abort = abort;
        this.#informer.lifecycle({
          type: "watching",
          scope: this.scope,
          resourceVersion: this.#resourceVersion,
        });
      } else if (!this.#current(gen)) {
        abort.abort();
      }
    } catch (err) {
      onDone(err);
    }
  }
}
