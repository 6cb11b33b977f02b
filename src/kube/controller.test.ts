import { afterEach, describe, expect, it } from "vitest";
import {
  activeWorkers,
  maxConcurrentReconciles,
  metricValue,
  reconcileErrorsTotal,
  reconcileTotal,
} from "../observability/metrics.js";
import type { Logger } from "../observability/logger.js";
import { Controller, classifyOutcome, type ReconcileFn } from "./controller.js";
import { ItemExponentialFailureRateLimiter } from "./rateLimiter.js";
import { WorkQueue } from "./workQueue.js";

let seq = 0;
const controllers: Controller[] = [];

function newController(reconcile: ReconcileFn, workers = 1, baseBackoffMs = 1): Controller {
  const name = `test-controller-${++seq}`;
  const queue = new WorkQueue({
    name,
    rateLimiter: new ItemExponentialFailureRateLimiter(baseBackoffMs, 1000),
  });
  const c = new Controller({ name, queue, reconcile, maxConcurrentReconciles: workers });
  controllers.push(c);
  return c;
}

/** Wait until `cond` holds, checking on every macrotask turn (bounded, no timing assertion). */
async function until(cond: () => boolean | Promise<boolean>, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("condition not reached");
}

const total = (c: Controller, result: string) => metricValue(reconcileTotal, { controller: c.name, result });

afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop(1000);
});

describe("classifyOutcome", () => {
  it("Given each reconcile result, when classified, then error wins, then requeueAfter, then requeue, else success", () => {
    expect(classifyOutcome({ requeueAfterMs: 5 }, new Error("x"), true).kind).toBe("error");
    expect(classifyOutcome({ requeueAfterMs: 5, requeue: true })).toEqual({
      kind: "requeue_after",
      delayMs: 5,
    });
    expect(classifyOutcome({ requeue: true }).kind).toBe("requeue");
    expect(classifyOutcome({ requeueAfterMs: 0 }).kind).toBe("success");
    expect(classifyOutcome(undefined).kind).toBe("success");
  });
});

describe("Controller", () => {
  it("Given a new controller, when metrics are read, then every result series exists at zero", async () => {
    const c = newController(() => Promise.resolve(), 3);
    for (const result of ["success", "error", "requeue", "requeue_after"])
      expect(await total(c, result)).toBe(0);
    expect(await metricValue(reconcileErrorsTotal, { controller: c.name })).toBe(0);
    expect(await metricValue(activeWorkers, { controller: c.name })).toBe(0);
    expect(await metricValue(maxConcurrentReconciles, { controller: c.name })).toBe(3);
  });

  it("Given a successful reconcile, when a key is enqueued, then it is reconciled once with an id and counted as success", async () => {
    const seen: Array<{ key: string; id: string }> = [];
    const c = newController((key, ctx) => {
      seen.push({ key, id: ctx.reconcileId });
      return Promise.resolve();
    });
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await total(c, "success")) === 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.key).toBe("ns/a");
    expect(seen[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("Given a reconcile that fails twice, when run, then it is retried with backoff and the errors are counted", async () => {
    let calls = 0;
    const c = newController(() => {
      calls++;
      if (calls <= 2) return Promise.reject(new Error("keycloak unreachable"));
      return Promise.resolve();
    });
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await total(c, "success")) === 1);
    expect(calls).toBe(3);
    expect(await total(c, "error")).toBe(2);
    expect(await metricValue(reconcileErrorsTotal, { controller: c.name })).toBe(2);
    // Success forgets the key's failures.
    expect(c.queue.numRequeues("ns/a")).toBe(0);
  });

  it("Given a reconcile asking for requeueAfter, when run, then the key comes back and the label is requeue_after", async () => {
    let calls = 0;
    const c = newController(() => {
      calls++;
      return Promise.resolve(calls === 1 ? { requeueAfterMs: 5 } : {});
    });
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await total(c, "success")) === 1);
    expect(await total(c, "requeue_after")).toBe(1);
    expect(calls).toBe(2);
  });

  it("Given a reconcile asking for requeue, when run, then it is retried rate-limited and labelled requeue", async () => {
    let calls = 0;
    const c = newController(() => {
      calls++;
      return Promise.resolve(calls === 1 ? { requeue: true } : undefined);
    });
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await total(c, "success")) === 1);
    expect(await total(c, "requeue")).toBe(1);
    expect(await total(c, "error")).toBe(0);
  });

  it("Given four workers and a key re-added while in flight, when reconciled, then the key never runs twice at once", async () => {
    const running = new Set<string>();
    let overlaps = 0;
    let concurrentMax = 0;
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const c = newController(async (key) => {
      if (running.has(key)) overlaps++;
      running.add(key);
      calls++;
      concurrentMax = Math.max(concurrentMax, running.size);
      if (key === "ns/a" && calls === 1) await gate;
      running.delete(key);
    }, 4);
    c.start();
    c.enqueue("ns/a");
    await until(() => running.has("ns/a"));
    c.enqueue("ns/a");
    c.enqueue("ns/b");
    await until(async () => (await total(c, "success")) === 1);
    expect(running.has("ns/a")).toBe(true);
    release();
    await until(async () => (await total(c, "success")) === 3);
    expect(overlaps).toBe(0);
    expect(concurrentMax).toBe(2);
  });

  it("Given a reconcile in flight, when the controller stops, then it waits for it and aborts its signal", async () => {
    let aborted = false;
    let finish: () => void = () => {};
    const c = newController(async (_key, ctx) => {
      await new Promise<void>((r) => (finish = r));
      aborted = ctx.signal.aborted;
    });
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await metricValue(activeWorkers, { controller: c.name })) === 1);
    const stopped = c.stop(60_000);
    finish();
    expect(await stopped).toBe(true);
    expect(aborted).toBe(true);
    expect(await total(c, "success")).toBe(1);
  });

  it("Given a reconcile timeout, when a reconcile waits on its signal, then the signal aborts and the outcome is an error", async () => {
    const name = `test-controller-${++seq}`;
    const c = new Controller({
      name,
      queue: new WorkQueue({ name, rateLimiter: new ItemExponentialFailureRateLimiter(60_000, 60_000) }),
      reconcileTimeoutMs: 20,
      reconcile: (_key, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => reject(new Error("aborted: dependency hung")));
        }),
    });
    controllers.push(c);
    c.start();
    c.enqueue("ns/a");
    await until(async () => (await total(c, "error")) === 1);
    expect(c.queue.numRequeues("ns/a")).toBe(1);
  });

  it("Given zero workers, when the controller is built, then it is refused with the reason", () => {
    expect(
      () => new Controller({ name: "bad", reconcile: () => Promise.resolve(), maxConcurrentReconciles: 0 }),
    ).toThrow(/maxConcurrentReconciles must be a positive integer/);
  });
});

describe("Controller.enqueue", () => {
  it("Given a watch's reason, When a typed key is enqueued, Then the reason is logged at debug and the key queued as namespace/name", () => {
    const lines: Array<{ obj: unknown; msg: string }> = [];
    const logger = {
      debug: (obj: unknown, msg: string) => lines.push({ obj, msg }),
    } as unknown as Logger;
    const name = `test-controller-${++seq}`;
    const c = new Controller({
      name,
      logger,
      queue: new WorkQueue({ name }),
      reconcile: () => Promise.resolve(),
    });
    controllers.push(c);
    c.enqueue({ namespace: "ns", name: "x" }, "its instance changed phase");
    expect(lines).toEqual([
      {
        obj: { key: "ns/x", reason: "its instance changed phase" },
        msg: `queued ${name} ns/x: its instance changed phase`,
      },
    ]);
    expect(c.queue.length).toBe(1);
  });
});
