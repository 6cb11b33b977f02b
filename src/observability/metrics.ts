// The one home of the operator runtime's Prometheus metrics. Names and labels follow client-go's
// work queue and controller-runtime's controller metrics unchanged, so existing dashboards and alerts
// for Go operators work on this one. Everything is registered on prom-client's default registry,
// which is what `/metrics` (see health.ts) serves.
import { Counter, Gauge, Histogram, collectDefaultMetrics, register, type Registry } from "prom-client";

export const registry: Registry = register;

/**
 * The metric registered under `name`, created by `create` the first time. Several engines or
 * machine sets (tests, the CLI, a module evaluated twice) may live in one process, and prom-client
 * refuses a second registration of a name.
 */
export function registeredOnce<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * The metrics of a set the operator hot-reloads (the policy bundle, the lifecycle machines): load
 * attempts by result, pre-initialised at zero so an alert on failures has a series from the start,
 * and the revision in force (value 1).
 */
export function reloadMetrics(
  loads: { name: string; help: string },
  info: { name: string; help: string },
): { loadsTotal: Counter<"result">; info: Gauge<"revision"> } {
  const loadsTotal = registeredOnce(
    loads.name,
    () => new Counter({ ...loads, labelNames: ["result"] as const }),
  );
  loadsTotal.inc({ result: "success" }, 0);
  loadsTotal.inc({ result: "failure" }, 0);
  return {
    loadsTotal,
    info: registeredOnce(info.name, () => new Gauge({ ...info, labelNames: ["revision"] as const })),
  };
}

let defaultMetricsStarted = false;

/** Process and Node.js runtime metrics (CPU, memory, event loop lag, GC). Idempotent. */
export function startDefaultMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  collectDefaultMetrics({ register: registry });
}

/** The Prometheus text exposition of every registered metric, and its content type. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

// client-go's workqueue buckets: 10 ns .. 1000 s, one per power of ten.
const workqueueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export const workqueueDepth = new Gauge({
  name: "workqueue_depth",
  help: "Current depth of workqueue",
  labelNames: ["name"] as const,
});

export const workqueueAddsTotal = new Counter({
  name: "workqueue_adds_total",
  help: "Total number of adds handled by workqueue",
  labelNames: ["name"] as const,
});

export const workqueueQueueDuration = new Histogram({
  name: "workqueue_queue_duration_seconds",
  help: "How long in seconds an item stays in workqueue before being requested",
  labelNames: ["name"] as const,
  buckets: workqueueBuckets,
});

export const workqueueWorkDuration = new Histogram({
  name: "workqueue_work_duration_seconds",
  help: "How long in seconds processing an item from workqueue takes",
  labelNames: ["name"] as const,
  buckets: workqueueBuckets,
});

export const workqueueRetriesTotal = new Counter({
  name: "workqueue_retries_total",
  help: "Total number of retries handled by workqueue",
  labelNames: ["name"] as const,
});

/** What a live queue reports at scrape time for the two "in progress" gauges. */
export interface InFlightWork {
  /** Sum over items being processed of the seconds they have been running. */
  unfinishedSeconds: number;
  /** The longest time any item currently being processed has been running. */
  longestRunningSeconds: number;
}

// Queues register a provider instead of pushing values so that the gauges are computed fresh on each
// scrape, as client-go does; a stuck worker then shows as a steadily growing value.
const inFlightProviders = new Map<string, () => InFlightWork>();

export function registerInFlightProvider(name: string, provider: () => InFlightWork): void {
  inFlightProviders.set(name, provider);
}

export function unregisterInFlightProvider(name: string): void {
  inFlightProviders.delete(name);
}

export const workqueueUnfinishedWork = new Gauge({
  name: "workqueue_unfinished_work_seconds",
  help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
  labelNames: ["name"] as const,
  collect() {
    for (const [name, provider] of inFlightProviders) this.set({ name }, provider().unfinishedSeconds);
  },
});

export const workqueueLongestRunningProcessor = new Gauge({
  name: "workqueue_longest_running_processor_seconds",
  help: "How many seconds has the longest running processor for workqueue been running.",
  labelNames: ["name"] as const,
  collect() {
    for (const [name, provider] of inFlightProviders) this.set({ name }, provider().longestRunningSeconds);
  },
});

/** The reconcile outcome labels, as controller-runtime spells them. */
export const reconcileResults = ["success", "error", "requeue", "requeue_after"] as const;
export type ReconcileResultLabel = (typeof reconcileResults)[number];

export const reconcileTotal = new Counter({
  name: "controller_runtime_reconcile_total",
  help: "Total number of reconciliations per controller",
  labelNames: ["controller", "result"] as const,
});

export const reconcileErrorsTotal = new Counter({
  name: "controller_runtime_reconcile_errors_total",
  help: "Total number of reconciliation errors per controller",
  labelNames: ["controller"] as const,
});

export const reconcileTime = new Histogram({
  name: "controller_runtime_reconcile_time_seconds",
  help: "Length of time per reconciliation per controller",
  labelNames: ["controller"] as const,
  buckets: [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
    1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
  ],
});

export const activeWorkers = new Gauge({
  name: "controller_runtime_active_workers",
  help: "Number of currently used workers per controller",
  labelNames: ["controller"] as const,
});

export const maxConcurrentReconciles = new Gauge({
  name: "controller_runtime_max_concurrent_reconciles",
  help: "Maximum number of concurrent reconciles per controller",
  labelNames: ["controller"] as const,
});

/**
 * Pre-initialise a controller's series at zero (controller-runtime does the same) so that rate()
 * and absent() alerts work before the first reconcile of each kind of outcome.
 */
export function initControllerMetrics(controller: string, workers: number): void {
  for (const result of reconcileResults) reconcileTotal.inc({ controller, result }, 0);
  reconcileErrorsTotal.inc({ controller }, 0);
  activeWorkers.set({ controller }, 0);
  maxConcurrentReconciles.set({ controller }, workers);
}

export const leaderElectionMasterStatus = new Gauge({
  name: "leader_election_master_status",
  help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
  labelNames: ["name"] as const,
});

/** Read one series' current value (tests, readiness diagnostics). Undefined when never set. */
export async function metricValue(
  metric: Counter | Gauge,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const data = await metric.get();
  const wanted = Object.entries(labels);
  const hit = data.values.find((v) => wanted.every(([k, val]) => v.labels[k] === val));
  return hit?.value;
}

/** The observation count of one histogram series (tests). */
export async function histogramCount(
  metric: Histogram,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const data = await metric.get();
  const wanted = Object.entries(labels);
  const hit = data.values.find(
    (v) => v.metricName?.endsWith("_count") && wanted.every(([k, val]) => v.labels[k] === val),
  );
  return hit?.value;
}

export const informerRestartsTotal = new Counter({
  name: "kpo_informer_restarts_total",
  help: "Informer list/watch restarts by resource and reason (error, gone, silent, relist, manual)",
  labelNames: ["resource", "reason"] as const,
});

export const informerEventsTotal = new Counter({
  name: "kpo_informer_events_total",
  help: "Objects changed in informer caches by resource and type (add, update, delete)",
  labelNames: ["resource", "type"] as const,
});
