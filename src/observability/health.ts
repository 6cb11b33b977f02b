// The health and metrics HTTP server: /healthz (the process is alive and its event loop answers),
// /readyz (every registered readiness check passes: caches synced, policy bundle loaded, ...) and
// /metrics (Prometheus text). Kubernetes probes and Prometheus scrape it; it serves no secrets.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { loggerFor } from "./logger.js";
import { metricsText } from "./metrics.js";

export type ReadinessCheck = () => boolean;

const readinessChecks = new Map<string, ReadinessCheck>();

/**
 * Register a named readiness check, e.g. `registerReadinessCheck("informer:keycloakrealms", () =>
 * informer.hasSynced())`. Returns a function that removes it. A check that throws counts as failing.
 */
export function registerReadinessCheck(name: string, check: ReadinessCheck): () => void {
  readinessChecks.set(name, check);
  return () => {
    if (readinessChecks.get(name) === check) readinessChecks.delete(name);
  };
}

/** The current result of every readiness check, by name. */
export function readinessReport(): Array<{ name: string; ok: boolean }> {
  return [...readinessChecks.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, check]) => {
      try {
        return { name, ok: check() === true };
      } catch {
        return { name, ok: false };
      }
    });
}

/** Parse "host:port", ":port" or "[v6]:port". An empty host means all interfaces. */
export function parseBindAddress(bind: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(bind);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `health bind address "${bind}" is not host:port (e.g. 127.0.0.1:8081, :8081, [::1]:8081); fix --health-bind-address`,
    );
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export interface HealthServerOptions {
  /** Default 127.0.0.1:8081 (development); the chart sets :8081 so the kubelet can reach it. */
  bindAddress?: string;
}

export class HealthServer {
  readonly #bind: { host: string; port: number };
  readonly #log = loggerFor("health");
  #server: http.Server | undefined;

  constructor(options: HealthServerOptions = {}) {
    this.#bind = parseBindAddress(options.bindAddress ?? "127.0.0.1:8081");
  }

  /** Start listening; resolves with the bound address (port 0 picks a free port). */
  async start(): Promise<{ host: string; port: number }> {
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ err, url: req.url }, "health endpoint failed");
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("internal error\n");
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#bind.port, this.#bind.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    this.#log.info({ host: addr.address, port: addr.port }, "serving /healthz, /readyz and /metrics");
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://health");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" });
      res.end("method not allowed\n");
      return;
    }
    switch (url.pathname) {
      case "/healthz":
      case "/livez":
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("ok\n");
        return;
      case "/readyz": {
        const report = readinessReport();
        const failing = report.filter((c) => !c.ok);
        const verbose = url.searchParams.has("verbose") || failing.length > 0;
        const lines = verbose
          ? report.map((c) => `[${c.ok ? "+" : "-"}]${c.name} ${c.ok ? "ok" : "failed"}`)
          : [];
        lines.push(
          failing.length === 0
            ? "readyz check passed"
            : `readyz check failed: ${failing.map((c) => c.name).join(", ")}`,
        );
        res.writeHead(failing.length === 0 ? 200 : 503, { "Content-Type": "text/plain" });
        res.end(lines.join("\n") + "\n");
        return;
      }
      case "/metrics": {
        const { contentType, body } = await metricsText();
        res.writeHead(200, { "Content-Type": contentType });
        res.end(body);
        return;
      }
      default:
        res.writeHead(404, { "Content-Type": "text/plain" });
        res.end("not found: try /healthz, /readyz or /metrics\n");
    }
  }
}
