// Errors raised by the Keycloak layer. Whether one is worth retrying is decided in one place,
// `classifyError` in src/lifecycle/errors.ts: transient → Degraded (retry with backoff), permanent →
// Failed. Messages name the instance, the operation and the object, never a credential: Keycloak's
// own error text is kept (it names fields, not values) but cut short.

/** Where a request went: used to build messages that say what failed. */
export interface RequestContext {
  /** The KeycloakInstance key, `namespace/name`. */
  instance: string;
  /** HTTP method. */
  method: string;
  /** What the request was about, e.g. `update realm "team-a"`. */
  what: string;
  /** The request creates a named object (a realm, client, role, group, mapper). */
  creates?: boolean;
}

const MAX_DETAIL = 200;

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}

/** Keycloak answered with a non-2xx status. */
export class KeycloakApiError extends Error {
  override readonly name = "KeycloakApiError";
  readonly status: number;
  readonly context: RequestContext;

  /** Keycloak said the realm of the request does not exist ("Realm not found."). */
  readonly realmNotFound: boolean;

  constructor(status: number, context: RequestContext, detail: string) {
    const hint = hintFor(status);
    super(
      `Keycloak instance ${context.instance} answered ${status} to ${context.method} (${context.what})` +
        (detail ? `: ${shorten(detail)}` : "") +
        (hint ? `. ${hint}` : ""),
    );
    this.status = status;
    this.context = context;
    this.realmNotFound = status === 404 && /realm not found/i.test(detail);
  }
}

function hintFor(status: number): string {
  if (status === 401) return "Check the admin credentials Secret of the KeycloakInstance";
  if (status === 403)
    return "Grant the operator's Keycloak account the admin roles it needs (realm-admin / create-realm)";
  if (status === 409)
    return "An object with that name already exists in Keycloak; rename it or remove the conflicting one";
  if (status === 429) return "Keycloak is rate limiting the operator; it will retry with backoff";
  if (status >= 500) return "Keycloak failed internally; the operator will retry with backoff";
  return "";
}

/** The request never got an HTTP answer: connection refused/reset, DNS, TLS, or our own timeout. */
export class KeycloakUnreachableError extends Error {
  override readonly name = "KeycloakUnreachableError";

  constructor(
    readonly context: RequestContext,
    readonly reason: string,
  ) {
    super(
      `Keycloak instance ${context.instance} could not be reached for ${context.method} (${context.what}): ${reason}. ` +
        "Check that Keycloak is running and its URL and TLS settings in the KeycloakInstance; the operator will retry with backoff",
    );
  }
}

/** The circuit breaker of an instance is open: the request was not sent. */
export class CircuitOpenError extends Error {
  override readonly name = "CircuitOpenError";

  /**
   * `retryAt`: the earliest time the breaker lets a probe through (epoch ms). Nothing is scheduled
   * for it: the first request after it, usually some resource's retry, is the probe.
   */
  constructor(
    readonly instance: string,
    readonly retryAt: number,
  ) {
    super(
      `Requests to Keycloak instance ${instance} are paused after repeated failures (circuit open) ` +
        `until ${new Date(retryAt).toISOString()}; the first request after that tests Keycloak again, ` +
        "and this resource retries with backoff",
    );
  }
}

/** A realm or client exists in Keycloak but belongs to someone else (or to nobody, without adopt). */
export class OwnershipError extends Error {
  override readonly name = "OwnershipError";
  constructor(message: string) {
    super(message);
  }
}

/** The desired state refers to something that does not exist (a role, group, client or scope). */
export class MissingReferenceError extends Error {
  override readonly name = "MissingReferenceError";
  constructor(message: string) {
    super(message);
  }
}

/** The HTTP status carried by an admin-client `NetworkError` (it has `response.status`). */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const response = (err as { response?: unknown }).response;
  if (typeof response !== "object" || response === null) return undefined;
  const status = (response as { status?: unknown }).status;
  return typeof status === "number" ? status : undefined;
}

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/**
 * A short, secret-free reason when `err` is a failure to get an HTTP answer (fetch's `TypeError:
 * fetch failed` with a system error as cause, an AbortSignal timeout), otherwise undefined.
 */
export function networkReasonOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  if (name === "TimeoutError") return "request timed out";
  if (name === "AbortError") return "request aborted";
  const code = errorCode(err) ?? errorCode((err as { cause?: unknown }).cause);
  if (code !== undefined && (networkCodes.has(code) || isTlsVerificationCode(code))) {
    return code;
  }
  if (err instanceof TypeError && err.message === "fetch failed") return "connection failed";
  return undefined;
}

// OpenSSL verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN,
// CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …).
function isTlsVerificationCode(code: string): boolean {
  return /^(ERR_TLS|ERR_SSL|UNABLE_TO_)|CERT|SIGNATURE/.test(code);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // AggregateError (happy eyeballs) nests the per-address errors.
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const e of nested) if (errorCode(e)) return errorCode(e);
  return undefined;
}
