import { afterEach, describe, expect, it } from "vitest";
import { HealthServer, parseBindAddress, readinessReport, registerReadinessCheck } from "./health.js";
import { workqueueDepth } from "./metrics.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function started(): Promise<string> {
  const server = new HealthServer({ bindAddress: "127.0.0.1:0" });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  return `http://127.0.0.1:${port}`;
}

describe("parseBindAddress", () => {
  it("Given host:port, :port and [v6]:port, when parsed, then host and port are split", () => {
    expect(parseBindAddress("127.0.0.1:8081")).toEqual({ host: "127.0.0.1", port: 8081 });
    expect(parseBindAddress(":9090")).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(parseBindAddress("[::1]:8081")).toEqual({ host: "::1", port: 8081 });
  });

  it("Given an address without a port, when parsed, then the error names the flag to fix", () => {
    expect(() => parseBindAddress("localhost")).toThrow(/--health-bind-address/);
  });
});

describe("HealthServer", () => {
  it("Given a running server, when /healthz is requested, then it answers 200 ok", async () => {
    const base = await started();
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it("Given a failing readiness check, when /readyz is requested, then it answers 503 naming the check, and 200 once it passes", async () => {
    let synced = false;
    cleanups.push(registerReadinessCheck("informer:test", () => synced));
    const unregisterThrowing = registerReadinessCheck("throws", () => {
      throw new Error("boom");
    });
    cleanups.push(unregisterThrowing);
    const base = await started();
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain("[-]informer:test failed");
    expect(body).toContain("[-]throws failed");

    synced = true;
    unregisterThrowing();
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(readinessReport()).toContainEqual({ name: "informer:test", ok: true });
  });

  it("Given a metric with a value, when /metrics is scraped, then the Prometheus text contains it", async () => {
    workqueueDepth.set({ name: "health-test" }, 7);
    const base = await started();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain('workqueue_depth{name="health-test"} 7');
  });

  it("Given an unknown path, when requested, then it answers 404 listing the endpoints", async () => {
    const base = await started();
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("/readyz");
  });
});
