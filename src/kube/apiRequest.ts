// A raw JSON request to the API server using the KubeConfig's TLS and credentials. The informers
// list through it because client-node's generated clients deserialize known kinds into model
// classes (Date objects, renamed fields) while watch events are plain JSON; a cache must hold one
// shape. Errors carry the HTTP status and the API server's own Status message, never the body
// of the object (which may be a Secret).
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { keptAliveAgentsOf } from "./apiClients.js";

export class KubeApiError extends Error {
  readonly statusCode: number;
  /** The Status reason, e.g. "NotFound", "Conflict", "Forbidden". */
  readonly reason: string;

  constructor(statusCode: number, reason: string, message: string) {
    super(message);
    this.name = "KubeApiError";
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export interface ApiRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** The HTTP status of an error from client-node (ApiException.code), this module, or a watch. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === "number") return e.statusCode;
  if (typeof e.code === "number") return e.code;
  return undefined;
}

/** The API server's Status message inside an error, if any, without the request body. */
export function apiMessageOf(err: unknown): string {
  if (err instanceof KubeApiError) return err.message;
  if (typeof err === "object" && err !== null) {
    const body = (err as { body?: unknown }).body;
    const parsed: unknown = typeof body === "string" ? safeParse(body) : body;
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      typeof (parsed as { message?: unknown }).message === "string"
    ) {
      return (parsed as { message: string }).message;
    }
    const code = statusCodeOf(err);
    if (code !== undefined) return `HTTP ${code}`;
    if (err instanceof Error) return err.message;
  }
  return String(err);
}

/**
 * Why a request got no HTTP answer at all: "timed out" (its AbortSignal.timeout fired), "aborted",
 * or the socket's error code (ECONNREFUSED, ECONNRESET, ENOTFOUND, a TLS code, ...). Undefined when
 * the API server did answer; statusCodeOf and apiMessageOf then say what it answered.
 */
export function noAnswerReasonOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || statusCodeOf(err) !== undefined) return undefined;
  const e = err as { name?: unknown; code?: unknown; cause?: unknown };
  // node:http rejects with an AbortError whose cause is the signal's reason (a TimeoutError).
  const cause = typeof e.cause === "object" && e.cause !== null ? (e.cause as { name?: unknown }) : {};
  if (e.name === "TimeoutError" || cause.name === "TimeoutError") return "timed out";
  if (e.name === "AbortError") return "aborted";
  if (typeof e.code === "string") return e.code;
  return undefined;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function requestJson(kc: KubeConfig, req: ApiRequest): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new Error("kubeconfig has no current cluster: set current-context or pass --kubeconfig");
  }
  const url = new URL(cluster.server.replace(/\/$/, "") + req.path);
  for (const [k, v] of Object.entries(req.query ?? {}))
    if (v !== undefined) url.searchParams.set(k, String(v));
  const opts: https.RequestOptions = { method: req.method ?? "GET", headers: {} };
  await kc.applyToHTTPSOptions(opts);
  // The KubeConfig made a fresh agent (a new connection and TLS handshake per request): reuse one.
  opts.agent = keptAliveAgentsOf(kc).reuse(opts.agent) as https.Agent;
  const headers: Record<string, string> = {
    Accept: "application/json",
    ...(opts.headers as Record<string, string>),
  };
  let payload: string | undefined;
  if (req.body !== undefined) {
    payload = JSON.stringify(req.body);
    headers["Content-Type"] = req.contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(payload));
  }
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { ...opts, headers, signal: req.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        const data = text.length > 0 ? safeParse(text) : undefined;
        if (status >= 200 && status < 300) {
          resolve(data);
          return;
        }
        const s = (data ?? {}) as { reason?: string; message?: string };
        reject(
          new KubeApiError(
            status,
            s.reason ?? http.STATUS_CODES[status] ?? "Unknown",
            `${req.method ?? "GET"} ${req.path}: ${s.message ?? `HTTP ${status}`}`,
          ),
        );
      });
    });
    request.on("error", reject);
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}
