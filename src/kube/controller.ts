// The controller loop: N workers take keys from a WorkQueue and call one reconcile function.
// As in controller-runtime (pkg/internal/controller/controller.go), ONE switch maps each reconcile
// outcome to both the queue action and the metric label, so they can never disagree; metrics are
// pre-initialised at zero; every reconcile gets an id and a child logger carrying the key.
import { randomUUID } from "node:crypto";
import { loggerFor, type Logger } from "../observability/logger.js";
import {
  activeWorkers,
  initControllerMetrics,
  reconcileErrorsTotal,
  reconcileTime,
  reconcileTotal,
  type ReconcileResultLabel,
} from "../observability/metrics.js";
import { WorkQueue } from "./workQueue.js";
import { formatKey, type ObjectKey } from "./objectKey.js";

/**
 * What a reconcile asks for next. Retry timing is data returned by the reconciler, never a side
 * effect: `requeueAfterMs` schedules the key again (e.g. from the status' nextAttemptAt);
 * `requeue` asks for a rate-limited retry without an error. A thrown error is a rate-limited retry.
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export interface ReconcileContext {
  /** Unique per reconcile; in every log line of it. */
  reconcileId: string;
  /** A child logger bound to controller, key and reconcileId. */
  log: Logger;
  /**
   * Aborted when the controller is stopping or the reconcile timeout passes: pass it to every
   * HTTP call so a hung dependency cannot hold a worker (and its key) forever.
   */
  signal: AbortSignal;
}

export type ReconcileFn = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  /** The `controller` label of the metrics, e.g. "keycloakrealm". */
  name: string;
  reconcile: ReconcileFn;
  /** Defaults to a WorkQueue with the same name. */
  queue?: WorkQueue;
  /** Number of workers (controller-runtime's MaxConcurrentReconciles). Default 1. */
  maxConcurrentReconciles?: number;
  /** Abort ctx.signal after this long (the key stays held until reconcile returns). Default: none. */
  reconcileTimeoutMs?: number;
  logger?: Logger;
}

/** The outcome of one reconcile, before it is acted on. */
export type ReconcileOutcome =
  | { kind: "error"; error: unknown }
  | { kind: "requeue_after"; delayMs: number }
  | { kind: "requeue" }
  | { kind: "success" };

export function classifyOutcome(
  result: ReconcileResult | void,
  error?: unknown,
  failed = false,
): ReconcileOutcome {
  if (failed) return { kind: "error", error };
  if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
    return { kind: "requeue_after", delayMs: result.requeueAfterMs };
  }
  if (result?.requeue === true) return { kind: "requeue" };
  return { kind: "success" };
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: ReconcileFn;
  readonly #workers: number;
  readonly #timeoutMs: number | undefined;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #running: Promise<void>[] = [];
  #started = false;

  constructor(options: ControllerOptions) {
    const workers = options.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(
        `controller ${options.name}: maxConcurrentReconciles must be a positive integer, got ${workers}`,
      );
    }
    this.name = options.name;
    this.queue = options.queue ?? new WorkQueue({ name: options.name });
    this.#reconcile = options.reconcile;
    this.#workers = workers;
    this.#timeoutMs = options.reconcileTimeoutMs;
    this.#log = options.logger ?? loggerFor("controller", { controller: options.name });
    initControllerMetrics(this.name, workers);
  }

  /**
   * Enqueue an object's key (a string must be formatKey's "namespace/name"). Watches say why; the
   * reason is logged at debug level, e.g. "queued realm ns/x: its KeycloakInstance changed".
   */
  enqueue(key: ObjectKey | string, reason?: string): void {
    const text = typeof key === "string" ? key : formatKey(key);
    if (reason) this.#log.debug({ key: text, reason }, `queued ${this.name} ${text}: ${reason}`);
    this.queue.add(text);
  }

  /** Start the workers. They run until stop(). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#log.info({ workers: this.#workers }, "starting workers");
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
  }

  /**
   * Stop taking work, abort the signal given to in-flight reconciles, and wait up to `timeoutMs` for
   * them to finish. Resolves true when every worker exited in time.
   */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    this.#abort.abort(new Error(`controller ${this.name} is stopping`));
    const drained = await this.queue.shutDownWithDrain(timeoutMs);
    if (drained) await Promise.all(this.#running);
    this.#running = [];
    if (!drained)
      this.#log.warn({ timeoutMs }, "workers still busy after the shutdown timeout; exiting anyway");
    return drained;
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      activeWorkers.inc({ controller: this.name });
      try {
        await this.#reconcileOne(key);
      } finally {
        activeWorkers.dec({ controller: this.name });
        this.queue.done(key);
      }
    }
  }

  async #reconcileOne(key: string): Promise<void> {
    const reconcileId = randomUUID();
    const log = this.#log.child({ key, reconcileId });
    const started = performance.now();
    let result: ReconcileResult | void = undefined;
    let error: unknown;
    let failed = false;
    try {
      const signal =
        this.#timeoutMs === undefined
          ? this.#abort.signal
          : AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]);
      result = await this.#reconcile(key, { reconcileId, log, signal });
    } catch (err) {
      failed = true;
      error = err;
    }
    reconcileTime.observe({ controller: this.name }, (performance.now() - started) / 1000);
    this.#apply(key, classifyOutcome(result, error, failed), log);
  }

  /** The one place where an outcome becomes a queue action and a metric label. */
  #apply(key: string, outcome: ReconcileOutcome, log: Logger): void {
    let label: ReconcileResultLabel;
    switch (outcome.kind) {
      case "error":
        label = "error";
        reconcileErrorsTotal.inc({ controller: this.name });
        this.queue.addRateLimited(key);
        log.error(
          { err: outcome.error, retries: this.queue.numRequeues(key) },
          "reconcile failed; retrying with backoff",
        );
        break;
      case "requeue_after":
        label = "requeue_after";
        // A deliberate requeueAfter is not a failure: reset the backoff, as controller-runtime does.
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.delayMs);
        log.debug({ requeueAfterMs: outcome.delayMs }, "reconcile done; requeued after delay");
        break;
      case "requeue":
        label = "requeue";
        this.queue.addRateLimited(key);
        log.debug("reconcile done; requeued with backoff");
        break;
      case "success":
        label = "success";
        this.queue.forget(key);
        log.debug("reconcile done");
        break;
    }
    reconcileTotal.inc({ controller: this.name, result: label });
  }
}
