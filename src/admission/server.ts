// The HTTPS endpoint the API server calls (POST /validate, admission.k8s.io/v1). Every replica
// serves it, leader or not: informers run on every replica, so each can decide. The certificate is
// swapped in place (tls.Server#setSecureContext) when the Secret holding it changes; connections
// already open keep the context they were made with.
//
// What the body may be is checked before anything else: over the size limit → 413, not JSON or not
// an AdmissionReview → 400 (no uid, so no AdmissionReview can answer), caches not synced → 503 (the
// API server then applies the failurePolicy). A request that is an AdmissionReview is always
// answered with one: allowed, allowed with warnings, or refused with the policies' messages.
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KINDS } from "../api/index.js";
import { loggerFor, type Logger } from "../observability/logger.js";
import { parseBindAddress } from "../observability/health.js";
import type { KeyPairPem } from "./certificates.js";
import { admissionDurationSeconds, admissionRequestsTotal } from "./metrics.js";
import { BadAdmissionReview, parseAdmissionReview, reviewResponse, type AdmissionRequest } from "./review.js";
import { requestSubject, type AdmissionOutcome, type AdmissionValidator } from "./validator.js";

export const VALIDATE_PATH = "/validate";

/**
 * The API server sends objects of up to etcd's 1.5 MiB limit, twice for an update (object and
 * oldObject), JSON-escaped: 6 MiB leaves room and still bounds what one request can make us parse.
 */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface AdmissionServerOptions {
  /** host:port; port 0 picks a free one. */
  bindAddress: string;
  validator: AdmissionValidator;
  /** False until the caches have synced: the webhook answers 503 rather than decide on empty caches. */
  ready: () => boolean;
  maxBodyBytes?: number;
  logger?: Logger;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** The kind and operation labels: only values the webhook knows, so a request cannot add series. */
function labelsOf(request: AdmissionRequest | undefined): { kind: string; operation: string } {
  const kind = KINDS.find((k) => k === request?.kind.kind) ?? "unknown";
  const operation =
    ["CREATE", "UPDATE", "DELETE", "CONNECT"].find((o) => o === request?.operation) ?? "unknown";
  return { kind, operation };
}

export class AdmissionServer {
  readonly #options: AdmissionServerOptions;
  readonly #log: Logger;
  readonly #maxBody: number;
  #server: https.Server | undefined;

  constructor(options: AdmissionServerOptions) {
    this.#options = options;
    this.#log = options.logger ?? loggerFor("admission");
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /** Starts listening with `certificate`; resolves with the bound address. */
  async start(certificate: KeyPairPem): Promise<{ host: string; port: number }> {
    const bind = parseBindAddress(this.#options.bindAddress);
    const server = https.createServer(
      { cert: certificate.cert, key: certificate.key, minVersion: "TLSv1.2" },
      (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.#log.error({ err, url: req.url }, "admission request failed");
          if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
          else res.end();
        });
      },
    );
    // Bounds a slow client; the API server's own timeout (timeoutSeconds) is shorter.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(bind.port, bind.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    this.#log.info(
      { host: addr.address, port: addr.port },
      `serving the admission webhook on ${VALIDATE_PATH}`,
    );
    return { host: addr.address, port: addr.port };
  }

  /** Swaps in a new certificate for the connections made from now on. */
  setCertificate(certificate: KeyPairPem): void {
    this.#server?.setSecureContext({ cert: certificate.cert, key: certificate.key });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://webhook");
    if (url.pathname !== VALIDATE_PATH) {
      sendJson(res, 404, { error: `not found: the webhook serves POST ${VALIDATE_PATH}` });
      return;
    }
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      sendJson(res, 405, { error: "method not allowed: POST an AdmissionReview" });
      return;
    }
    const contentType = String(req.headers["content-type"] ?? "");
    if (!/^application\/json\b/i.test(contentType)) {
      this.#count(undefined, "error");
      sendJson(res, 415, { error: `unsupported content type "${contentType}": POST application/json` });
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, this.#maxBody);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      this.#count(undefined, "error");
      this.#log.warn({ limitBytes: this.#maxBody }, "admission request refused: body over the size limit");
      res.setHeader("Connection", "close");
      sendJson(res, 413, { error: `the body is larger than ${this.#maxBody} bytes` });
      return;
    }
    const start = process.hrtime.bigint();
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(JSON.parse(body.toString("utf8")) as unknown);
    } catch (err) {
      if (!(err instanceof SyntaxError) && !(err instanceof BadAdmissionReview)) throw err;
      this.#count(undefined, "error");
      const reason = err instanceof SyntaxError ? `the body is not JSON: ${err.message}` : err.message;
      this.#log.warn({ reason }, "admission request refused: not an AdmissionReview");
      sendJson(res, 400, { error: reason });
      return;
    }
    if (!this.#options.ready()) {
      this.#count(request, "error");
      sendJson(res, 503, { error: "the operator's caches have not synced yet; the failurePolicy applies" });
      return;
    }
    const outcome = await this.#options.validator.validate(request);
    admissionDurationSeconds.observe(labelsOf(request), Number(process.hrtime.bigint() - start) / 1e9);
    this.#count(request, outcome.result);
    this.#record(request, outcome);
    sendJson(res, 200, reviewResponse(outcome.response));
  }

  #count(request: AdmissionRequest | undefined, result: string): void {
    admissionRequestsTotal.inc({ ...labelsOf(request), result });
  }

  /** One log line per decision; dryrun findings are recorded here (and counted) and nowhere else. */
  #record(request: AdmissionRequest, outcome: AdmissionOutcome): void {
    const fields = {
      uid: request.uid,
      operation: request.operation,
      subject: requestSubject(request),
      ...(request.userInfo?.username ? { user: request.userInfo.username } : {}),
      ...(request.dryRun ? { dryRun: true } : {}),
      result: outcome.result,
      violations: outcome.decision?.violations.map((v) => `${v.policy}/${v.code} (${v.enforcement})`) ?? [],
    };
    if (outcome.result === "denied" || outcome.result === "invalid")
      this.#log.info(fields, `admission refused ${fields.subject}`);
    else if (outcome.result === "warned" || outcome.result === "dryrun")
      this.#log.info(fields, `admission allowed ${fields.subject} with ${outcome.result} findings`);
    else this.#log.debug(fields, `admission ${outcome.result} ${fields.subject}`);
  }
}
