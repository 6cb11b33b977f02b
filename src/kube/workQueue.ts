// A keyed work queue with client-go / controller-runtime semantics. The request is a key
// ("namespace/name"), not an event, so reconciliation is level-based:
// - a key waiting in the queue is stored once however often it is added (dedup);
// - a key is never handed to two workers at once: added while being processed, it is marked dirty
//   and queued again when the worker calls done();
// - failures are retried with a per-key backoff (addRateLimited) that forget() resets;
// - addAfter() schedules a key for later (requeueAfter), keeping the earliest deadline per key;
// - shutdown stops handing out work and waits, with a timeout, for the items being processed;
// - keys are handed out round-robin across namespaces, first-in first-out within one (see
//   NamespaceRoundRobin): a burst of one namespace's keys never makes the others wait behind it.
import {
  registerInFlightProvider,
  unregisterInFlightProvider,
  workqueueAddsTotal,
  workqueueDepth,
  workqueueQueueDuration,
  workqueueRetriesTotal,
  workqueueWorkDuration,
} from "../observability/metrics.js";
import { ItemExponentialFailureRateLimiter, type RateLimiter } from "./rateLimiter.js";

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics; one per controller. */
  name: string;
  /** Defaults to a per-key exponential backoff of 5 ms .. 1000 s (client-go's item limiter). */
  rateLimiter?: RateLimiter;
  /** Monotonic clock in milliseconds, for metrics; injectable for tests. */
  now?: () => number;
}

/**
 * A FIFO with O(1) push and shift. Array.prototype.shift is O(n): with a few hundred thousand
 * queued keys (a relist of a large cluster) it made draining the queue quadratic.
 */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    // Compact once the consumed prefix dominates, keeping memory bounded and the cost amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

/**
 * Ready keys, one FIFO per namespace, taken from the namespaces in turn. Keycloak requests are
 * limited per namespace (a fairness rule between tenants, src/keycloak/limits.ts); with one FIFO, an
 * informer's initial list (which arrives namespace by namespace) had every worker wait on the same
 * namespace's bucket while the other namespaces' buckets stood idle, so a restart was paced by one
 * namespace's rate. Keys without a namespace (cluster-scoped, or plain strings) share one FIFO.
 */
class NamespaceRoundRobin {
  readonly #byNamespace = new Map<string, Fifo<string>>();
  /** Namespaces with ready keys, in the order they get their next turn. Each appears once. */
  readonly #turns = new Fifo<string>();
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(key: string): void {
    const slash = key.indexOf("/");
    const namespace = slash < 0 ? "" : key.slice(0, slash);
    let fifo = this.#byNamespace.get(namespace);
    if (!fifo) {
      fifo = new Fifo<string>();
      this.#byNamespace.set(namespace, fifo);
      this.#turns.push(namespace);
    }
    fifo.push(key);
    this.#length++;
  }

  shift(): string | undefined {
    const namespace = this.#turns.shift();
    if (namespace === undefined) return undefined;
    const fifo = this.#byNamespace.get(namespace);
    const key = fifo?.shift();
    if (!fifo || key === undefined) return undefined;
    this.#length--;
    // Back of the line if it has more; otherwise forgotten, so idle namespaces cost no memory.
    if (fifo.length > 0) this.#turns.push(namespace);
    else this.#byNamespace.delete(namespace);
    return key;
  }

  clear(): void {
    this.#byNamespace.clear();
    this.#turns.clear();
    this.#length = 0;
  }
}

interface WaitingEntry {
  readyAt: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  readonly name: string;
  readonly #rateLimiter: RateLimiter;
  readonly #now: () => number;

  /** Keys ready to be handed out, round-robin across namespaces. Each is also in #dirty. */
  readonly #queue = new NamespaceRoundRobin();
  /** Keys that need processing: queued, or re-added while being processed. */
  readonly #dirty = new Set<string>();
  /** Keys currently held by a worker, with the time the worker took them. */
  readonly #processing = new Map<string, number>();
  /** When each queued key was first added, for workqueue_queue_duration_seconds. */
  readonly #addedAt = new Map<string, number>();
  /** Keys scheduled by addAfter / addRateLimited, with their earliest deadline. */
  readonly #waiting = new Map<string, WaitingEntry>();
  /** Workers blocked in get(). */
  readonly #getters = new Fifo<(key: string | undefined) => void>();
  /** Resolvers of shutDownWithDrain, called when the last in-flight item is done. */
  #drainWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#rateLimiter = options.rateLimiter ?? new ItemExponentialFailureRateLimiter();
    this.#now = options.now ?? (() => performance.now());
    workqueueDepth.set({ name: this.name }, 0);
    workqueueAddsTotal.inc({ name: this.name }, 0);
    workqueueRetriesTotal.inc({ name: this.name }, 0);
    registerInFlightProvider(this.name, () => this.inFlight());
  }

  /** Number of keys waiting to be handed out (not counting delayed or in-flight keys). */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys currently held by workers. */
  get processingCount(): number {
    return this.#processing.size;
  }

  /** Mark the key as needing processing. A no-op after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    workqueueAddsTotal.inc({ name: this.name });
    this.#dirty.add(key);
    // A key being processed is queued again by done(); queueing it now would let a second worker
    // take it concurrently.
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Add the key after `delayMs` (requeueAfter). With several pending deadlines the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.#now() + delayMs;
    const existing = this.#waiting.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.#waiting.set(key, { readyAt, timer });
  }

  /** Add the key after its rate limiter's delay: the retry path after a failed reconcile. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    workqueueRetriesTotal.inc({ name: this.name });
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** The key succeeded: its next failure backs off from the base delay again. */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * Wait for the next key and take it: the caller must call done(key) when finished. Resolves
   * `undefined` once the queue is shutting down, which tells the worker to exit.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** The worker finished the key. If it was added meanwhile, it is queued again. */
  done(key: string): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    workqueueWorkDuration.observe({ name: this.name }, (this.#now() - startedAt) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    if (this.#shuttingDown && this.#processing.size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Stop handing out work; do not wait for in-flight items. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
    for (let resolve = this.#getters.shift(); resolve; resolve = this.#getters.shift()) resolve(undefined);
    this.#queue.clear();
    workqueueDepth.set({ name: this.name }, 0);
    unregisterInFlightProvider(this.name);
  }

  /**
   * Stop handing out work and wait until every in-flight item is done, or `timeoutMs` passes.
   * Resolves true when drained, false on timeout (the caller decides whether to exit anyway).
   */
  async shutDownWithDrain(timeoutMs: number): Promise<boolean> {
    this.shutDown();
    if (this.#processing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.#drainWaiters.push(() => resolve(true)));
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Seconds of in-progress work, for the workqueue_unfinished_work / longest_running gauges. */
  inFlight(): { unfinishedSeconds: number; longestRunningSeconds: number } {
    const now = this.#now();
    let unfinished = 0;
    let longest = 0;
    for (const startedAt of this.#processing.values()) {
      const seconds = (now - startedAt) / 1000;
      unfinished += seconds;
      longest = Math.max(longest, seconds);
    }
    return { unfinishedSeconds: unfinished, longestRunningSeconds: longest };
  }

  #enqueue(key: string): void {
    this.#addedAt.set(key, this.#now());
    const getter = this.#getters.shift();
    if (getter) {
      // Hand the key straight to a waiting worker; it never sits in #queue.
      this.#queue.push(key);
      getter(this.#take());
      return;
    }
    this.#queue.push(key);
    workqueueDepth.set({ name: this.name }, this.#queue.length);
  }

  #take(): string | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    workqueueDepth.set({ name: this.name }, this.#queue.length);
    const now = this.#now();
    const addedAt = this.#addedAt.get(key);
    if (addedAt !== undefined) workqueueQueueDuration.observe({ name: this.name }, (now - addedAt) / 1000);
    this.#addedAt.delete(key);
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    return key;
  }
}
