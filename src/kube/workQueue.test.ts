import { afterEach, describe, expect, it, vi } from "vitest";
import {
  histogramCount,
  metricValue,
  registry,
  workqueueAddsTotal,
  workqueueDepth,
  workqueueRetriesTotal,
  workqueueWorkDuration,
} from "../observability/metrics.js";
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter } from "./rateLimiter.js";
import { WorkQueue } from "./workQueue.js";

let seq = 0;
const queues: WorkQueue[] = [];
function newQueue(options: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}): WorkQueue {
  const q = new WorkQueue({ name: `test-queue-${++seq}`, ...options });
  queues.push(q);
  return q;
}

/** Resolves the value, or "pending" if the promise has not settled after a few microtask turns. */
async function settled<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((r) => setImmediate(() => r("pending")))]);
}

afterEach(() => {
  vi.useRealTimers();
  for (const q of queues.splice(0)) q.shutDown();
});

describe("WorkQueue dedup", () => {
  it("Given a key added three times, when a worker drains the queue, then it gets the key once", async () => {
    const q = newQueue();
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    q.add("ns/a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBe("ns/b");
    expect(await settled(q.get())).toBe("pending");
    expect(await metricValue(workqueueAddsTotal, { name: q.name })).toBe(2);
  });

  it("Given queued keys, when counted by the depth gauge, then it reports the number waiting", async () => {
    const q = newQueue();
    q.add("a");
    q.add("b");
    expect(await metricValue(workqueueDepth, { name: q.name })).toBe(2);
    await q.get();
    expect(await metricValue(workqueueDepth, { name: q.name })).toBe(1);
  });
});

describe("WorkQueue order", () => {
  it("Given thousands of keys added while others drain, when all are taken, then they come out in insertion order", async () => {
    const q = newQueue();
    const taken: string[] = [];
    for (let i = 0; i < 3000; i++) q.add(`k${i}`);
    for (let i = 0; i < 2000; i++) taken.push((await q.get())!);
    for (let i = 3000; i < 5000; i++) q.add(`k${i}`);
    while (q.length > 0) taken.push((await q.get())!);
    expect(taken).toEqual(Array.from({ length: 5000 }, (_, i) => `k${i}`));
  });
});

describe("WorkQueue fairness across namespaces", () => {
  /** Take every ready key, marking each done. */
  async function drain(q: WorkQueue): Promise<string[]> {
    const taken: string[] = [];
    while (q.length > 0) {
      const key = (await q.get())!;
      taken.push(key);
      q.done(key);
    }
    return taken;
  }

  it("Given keys queued namespace by namespace (an initial list), when workers take them, then the namespaces take turns, FIFO within each", async () => {
    const q = newQueue();
    for (const ns of ["a", "b", "c"]) for (let i = 0; i < 3; i++) q.add(`${ns}/k${i}`);
    expect(await drain(q)).toEqual(["a/k0", "b/k0", "c/k0", "a/k1", "b/k1", "c/k1", "a/k2", "b/k2", "c/k2"]);
  });

  it("Given one namespace with many keys and another with few, when drained, then the small one is not kept waiting behind the large one", async () => {
    const q = newQueue();
    for (let i = 0; i < 100; i++) q.add(`big/k${i}`);
    q.add("small/x");
    q.add("small/y");
    const taken = await drain(q);
    expect(taken.slice(0, 4)).toEqual(["big/k0", "small/x", "big/k1", "small/y"]);
    expect(taken.filter((k) => k.startsWith("big/"))).toEqual(
      Array.from({ length: 100 }, (_, i) => `big/k${i}`),
    );
  });

  it("Given a namespace that ran dry, when it gets a key again, then it queues behind the namespaces already waiting", async () => {
    const q = newQueue();
    q.add("a/1");
    q.add("b/1");
    q.add("b/2");
    expect(await q.get()).toBe("a/1");
    q.add("c/1");
    q.add("a/2");
    expect(await drain(q)).toEqual(["b/1", "c/1", "a/2", "b/2"]);
  });

  it("Given round-robin order, when a key is added twice or while processed, then it is still deduplicated and never handed out twice at once", async () => {
    const q = newQueue();
    q.add("a/1");
    q.add("b/1");
    q.add("a/1");
    expect(q.length).toBe(2);
    const first = (await q.get())!;
    expect(first).toBe("a/1");
    q.add("a/1");
    expect(await q.get()).toBe("b/1");
    expect(await settled(q.get())).toBe("pending");
    q.done("a/1");
    expect(q.length).toBe(0);
  });
});

describe("WorkQueue one worker per key", () => {
  it("Given a key being processed, when it is added again, then no other worker gets it until done()", async () => {
    const q = newQueue();
    q.add("ns/a");
    const first = await q.get();
    expect(first).toBe("ns/a");

    q.add("ns/a");
    const second = q.get();
    expect(await settled(second)).toBe("pending");
    expect(q.length).toBe(0);

    q.done("ns/a");
    expect(await second).toBe("ns/a");
  });

  it("Given a key being processed and not re-added, when done() is called, then it is not processed again", async () => {
    const q = newQueue();
    q.add("ns/a");
    const key = await q.get();
    q.done(key!);
    expect(q.length).toBe(0);
    expect(await settled(q.get())).toBe("pending");
    expect(await histogramCount(workqueueWorkDuration, { name: q.name })).toBe(1);
  });

  it("Given a waiting worker, when another key is added during processing, then the other key is handed out", async () => {
    const q = newQueue();
    q.add("a");
    await q.get();
    const next = q.get();
    q.add("b");
    expect(await next).toBe("b");
  });
});

describe("rate limiters", () => {
  it("Given repeated failures, when the item limiter is asked, then the delay doubles from 5 ms up to 1000 s", () => {
    const rl = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 6 }, () => rl.when("k"));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160]);
    for (let i = 0; i < 40; i++) rl.when("k");
    expect(rl.when("k")).toBe(1_000_000);
    expect(rl.when("other")).toBe(5);
  });

  it("Given a failing key, when it is forgotten, then backoff restarts at the base delay", () => {
    const rl = new ItemExponentialFailureRateLimiter(5, 1000);
    rl.when("k");
    rl.when("k");
    expect(rl.numRequeues("k")).toBe(2);
    rl.forget("k");
    expect(rl.numRequeues("k")).toBe(0);
    expect(rl.when("k")).toBe(5);
  });

  it("Given a bucket of burst 2 at 10 qps, when three requests come at once, then the third waits 100 ms", () => {
    let now = 0;
    const rl = new BucketRateLimiter(10, 2, () => now);
    expect([rl.when("a"), rl.when("b"), rl.when("c")]).toEqual([0, 0, 100]);
    now = 1000;
    expect(rl.when("d")).toBe(0);
  });

  it("Given item and bucket limiters combined, when asked, then the longest delay wins", () => {
    const rl = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(1, 1, () => 0),
    );
    expect(rl.when("k")).toBe(5);
    expect(rl.when("k")).toBe(1000);
  });

  it("Given a zero base delay, when the limiter is built, then it is refused with the reason", () => {
    expect(() => new ItemExponentialFailureRateLimiter(0, 10)).toThrow(/baseMs \(0\) must be > 0/);
  });
});

describe("WorkQueue backoff", () => {
  it("Given a key retried three times, when it is forgotten, then its requeue count resets and retries are counted", async () => {
    vi.useFakeTimers();
    const q = newQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
    q.addRateLimited("k");
    q.addRateLimited("k");
    q.addRateLimited("k");
    expect(q.numRequeues("k")).toBe(3);
    expect(await metricValue(workqueueRetriesTotal, { name: q.name })).toBe(3);
    // The first delay (10 ms) wins: later, longer deadlines for the same key do not push it back.
    vi.advanceTimersByTime(10);
    expect(q.length).toBe(1);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
  });

  it("Given a rate-limited key, when less than its delay has passed, then it is not yet queued", () => {
    vi.useFakeTimers();
    const q = newQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(100, 1000) });
    q.addRateLimited("k");
    vi.advanceTimersByTime(99);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
  });
});

describe("WorkQueue addAfter", () => {
  it("Given two keys with different delays, when time passes, then they become ready in deadline order", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.addAfter("late", 300);
    q.addAfter("early", 100);
    q.addAfter("now", 0);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("now");
    vi.advanceTimersByTime(100);
    expect(await q.get()).toBe("early");
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(200);
    expect(await q.get()).toBe("late");
  });

  it("Given a key scheduled twice, when the second deadline is earlier, then the earlier one wins and it is added once", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.addAfter("k", 500);
    q.addAfter("k", 50);
    vi.advanceTimersByTime(50);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("k");
    q.done("k");
    vi.advanceTimersByTime(1000);
    expect(q.length).toBe(0);
  });
});

describe("WorkQueue shutdown", () => {
  it("Given an item in flight, when shut down with drain, then workers are released and it waits for done()", async () => {
    const q = newQueue();
    q.add("a");
    q.add("b");
    const key = await q.get();
    const idleWorker = newQueue().get();
    void idleWorker;

    const drained = q.shutDownWithDrain(60_000);
    expect(await settled(drained)).toBe("pending");
    expect(await q.get()).toBeUndefined();
    q.add("c");
    expect(q.length).toBe(0);

    q.done(key!);
    expect(await drained).toBe(true);
  });

  it("Given a blocked worker, when the queue shuts down, then get() resolves undefined", async () => {
    const q = newQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });

  it("Given an item that never finishes, when the drain timeout passes, then shutdown reports false", async () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.add("stuck");
    await q.get();
    const drained = q.shutDownWithDrain(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await drained).toBe(false);
  });

  it("Given delayed keys, when the queue shuts down, then they are never added", () => {
    vi.useFakeTimers();
    const q = newQueue();
    q.addAfter("k", 100);
    q.shutDown();
    vi.advanceTimersByTime(1000);
    expect(q.length).toBe(0);
  });
});

describe("WorkQueue in-flight gauges", () => {
  it("Given an item held for 2 s, when the registry is scraped, then unfinished and longest-running work show 2 s", async () => {
    let now = 0;
    const q = newQueue({ now: () => now });
    q.add("a");
    await q.get();
    now = 2000;
    const text = await registry.metrics();
    expect(text).toContain(`workqueue_unfinished_work_seconds{name="${q.name}"} 2`);
    expect(text).toContain(`workqueue_longest_running_processor_seconds{name="${q.name}"} 2`);
  });
});
