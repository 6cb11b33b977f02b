import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { LeaderElector } from "./leaderElection.js";

const base = {
  kubeConfig: new KubeConfig(),
  namespace: "kpo-system",
  name: "kpo-leader",
  identity: "pod-a",
  onStartedLeading: () => {},
};

describe("LeaderElector options", () => {
  it("Given client-go's defaults, when built, then it is accepted and starts as non-leader", () => {
    expect(new LeaderElector(base).isLeader()).toBe(false);
  });

  it("Given a lease duration not above the renew deadline, when built, then it is refused naming both values", () => {
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDuration \(10000 ms\) must exceed renewDeadline \(10000 ms\)/,
    );
  });

  it("Given a renew deadline within 1.2 retry periods, when built, then it is refused", () => {
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadline \(2000 ms\) must exceed 1.2 x retryPeriod/,
    );
  });

  it("Given an empty identity, when built, then it is refused", () => {
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity must not be empty/);
  });
});

/** Log lines as pino writes them, parsed. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

type Behaviour = "serve" | "stall" | "forbid";

/**
 * A stand-in API server that serves one Lease (GET 404 until POSTed, then GET and PUT) and can be
 * told to stop answering or to refuse every request with 403, as RBAC would.
 */
async function fakeApiServer(): Promise<{
  kubeConfig: KubeConfig;
  behave: (b: Behaviour) => void;
  close: () => Promise<void>;
}> {
  let behaviour: Behaviour = "serve";
  let lease: Record<string, unknown> | undefined;
  let version = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (behaviour === "stall") return; // never answers; the client's timeout ends the request
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (behaviour === "forbid") {
        reply(403, {
          kind: "Status",
          reason: "Forbidden",
          message: `leases.coordination.k8s.io "kpo-leader" is forbidden: User "kpo" cannot ${req.method?.toLowerCase()} resource "leases"`,
        });
        return;
      }
      if (req.method === "GET") {
        if (lease) reply(200, lease);
        else reply(404, { kind: "Status", reason: "NotFound", message: "not found" });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        metadata: Record<string, unknown>;
      };
      lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
      reply(req.method === "POST" ? 201 : 200, lease);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kubeConfig: kubeConfigFor(`http://127.0.0.1:${port}`),
    behave: (b) => {
      behaviour = b;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "kpo" }],
    contexts: [{ name: "fake", cluster: "fake", user: "kpo" }],
    currentContext: "fake",
  });
  return kc;
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Short timings within client-go's invariants; each request times out after 1 s (the floor).
const quick = { leaseDurationMs: 1500, renewDeadlineMs: 1200, retryPeriodMs: 500 };

describe("LeaderElector failure messages", () => {
  it("Given a leader whose API server stops answering for longer than the renew deadline, when leadership is lost, then the log says the renewal timed out and does not blame RBAC", async () => {
    const api = await fakeApiServer();
    const { logger, lines } = capturingLogger();
    const stopped: string[] = [];
    const elector = new LeaderElector({
      ...base,
      ...quick,
      kubeConfig: api.kubeConfig,
      logger,
      onStoppedLeading: (reason) => stopped.push(reason),
    });
    try {
      elector.start();
      await until(() => elector.isLeader(), "leading");
      api.behave("stall");
      await until(() => stopped.length > 0, "leadership lost");

      expect(stopped).toEqual(["lost"]);
      const warnings = lines.filter((l) => l.level >= 40).map((l) => l.msg);
      expect(warnings).toContainEqual(
        expect.stringMatching(
          /^reading lease kpo-system\/kpo-leader \(GET\) timed out: the API server did not answer within 1000 ms/,
        ),
      );
      expect(warnings).toContainEqual(
        expect.stringMatching(
          /^lost leadership: could not renew the lease within 1200 ms \(last attempt: reading lease kpo-system\/kpo-leader \(GET\) timed out/,
        ),
      );
      expect(warnings.filter((m) => m.includes("RBAC"))).toEqual([]);
    } finally {
      await elector.stop({ release: false });
      await api.close();
    }
  });

  it("Given an API server that forbids reading the lease, when campaigning, then the log points at RBAC for leases", async () => {
    const api = await fakeApiServer();
    api.behave("forbid");
    const { logger, lines } = capturingLogger();
    const elector = new LeaderElector({ ...base, ...quick, kubeConfig: api.kubeConfig, logger });
    try {
      elector.start();
      await until(() => lines.some((l) => l.level === 40), "a warning");
      expect(lines.find((l) => l.level === 40)?.msg).toMatch(
        /^reading lease kpo-system\/kpo-leader \(GET\) was forbidden: .*cannot get resource "leases".*; check RBAC for leases \(get, create, update\) in namespace kpo-system/,
      );
    } finally {
      await elector.stop({ release: false });
      await api.close();
    }
  });

  it("Given no API server listening, when campaigning, then the log says the connection was refused, not RBAC", async () => {
    const closed = await fakeApiServer();
    const kubeConfig = closed.kubeConfig;
    await closed.close();
    const { logger, lines } = capturingLogger();
    const elector = new LeaderElector({ ...base, ...quick, kubeConfig, logger });
    try {
      elector.start();
      await until(() => lines.some((l) => l.level === 40), "a warning");
      const warning = lines.find((l) => l.level === 40)?.msg;
      expect(warning).toMatch(
        /^reading lease kpo-system\/kpo-leader \(GET\) got no answer from the API server: ECONNREFUSED/,
      );
      expect(warning).not.toContain("RBAC");
    } finally {
      await elector.stop({ release: false });
    }
  });
});
