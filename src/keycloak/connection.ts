// One connection per KeycloakInstance: the official admin client plus everything the operator
// needs around each call — rate limits, a circuit breaker, an admin token that is refreshed before
// it expires (and re-obtained once on a 401), request timeouts, per-instance TLS, metrics and a
// write counter that tests and benchmarks read to prove that a resync of an unchanged world
// writes nothing.
//
// Every Keycloak request made by this layer goes through `call()`; the admin client is never
// handed out directly.
import KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import type { RequestOptions } from "@keycloak/keycloak-admin-client/lib/client.js";
import { Agent, type Dispatcher } from "undici";
import { loggerFor, type Logger } from "../observability/logger.js";
import {
  CircuitBreaker,
  circuitStateValue,
  defaultBreakerConfig,
  type BreakerConfig,
  type CircuitState,
} from "./breaker.js";
import { systemClock, type Clock } from "./clock.js";
import {
  CircuitOpenError,
  KeycloakApiError,
  KeycloakUnreachableError,
  httpStatusOf,
  networkReasonOf,
  type RequestContext,
} from "./errors.js";
import { RealmClientSnapshots, type ClientSnapshotOptions } from "./clientSnapshot.js";
import { RequestLimiter } from "./limits.js";
import { WritePlan, emptyReadResult } from "./plan.js";
import {
  keycloakCircuitRejectionsTotal,
  keycloakCircuitState,
  keycloakRequestsTotal,
  keycloakTokenRequestsTotal,
} from "./metrics.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** How the operator authenticates to Keycloak's admin API. */
export type AdminCredentials =
  | {
      kind: "password";
      username: string;
      password: string;
      /** Realm holding the admin user; default `master`. */
      realm?: string;
      /** Default `admin-cli`. */
      clientId?: string;
    }
  | {
      kind: "clientCredentials";
      clientId: string;
      clientSecret: string;
      /** Realm holding the service-account client; default `master`. */
      realm?: string;
    };

export interface TlsOptions {
  /** PEM bundle of CAs to trust (instead of Node's default store). */
  caPem?: string;
  /** Skip certificate verification. For development only. */
  insecureSkipVerify?: boolean;
  /**
   * The name the server's certificate is checked against (and sent as SNI) when the URL's host is
   * another, e.g. a pod's IP behind a certificate issued for the Service's DNS name.
   */
  servername?: string;
}

export interface KeycloakConnectionOptions {
  /** The KeycloakInstance key, `namespace/name`: the metric label and the name in messages. */
  instance: string;
  /** Keycloak's base URL, e.g. `https://sso.example.com` (with the relative path if any). */
  baseUrl: string;
  credentials: AdminCredentials;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  tls?: TlsOptions;
  /** Shared by all connections of the process (it holds the global bucket). */
  limiter?: RequestLimiter;
  breaker?: Partial<BreakerConfig>;
  /** Refresh the admin token this long before it expires; default 30 s. */
  refreshMarginSeconds?: number;
  /** Per-realm client lists shared by the client reads (./clientSnapshot.ts); default off. */
  clientSnapshot?: ClientSnapshotOptions;
  clock?: Clock;
}

export interface CallOptions {
  method: HttpMethod;
  /** What the request is about, for messages: `update realm "team-a"`. */
  what: string;
  /** Namespace of the CR the request is made for: selects the per-namespace rate limit. */
  namespace?: string;
  /** Overrides the connection's request timeout for this call. */
  timeoutMs?: number;
  /** The request creates a named object: a 409 then means it appeared since it was read (retryable). */
  creates?: boolean;
  /** The realm a write changes: invalidates that realm's client snapshot (without: every realm's). */
  realm?: string;
  /** A POST that changes nothing (a connection test): sent in plan mode too. */
  changesNothing?: boolean;
}

/** Counters of this connection since it was created. */
export interface ConnectionStats {
  /** Requests that reached the network (admin API and token endpoint). */
  requests: number;
  /** Admin API POST/PUT/DELETE requests sent. */
  writes: number;
  /** Token endpoint requests sent. */
  tokenRequests: number;
  /** Requests refused because the circuit was open. */
  circuitRejections: number;
}

interface HeldToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  refreshToken?: string;
  refreshExpiresAt?: number;
}

const writeMethods = new Set<HttpMethod>(["POST", "PUT", "DELETE"]);
// A process-wide default so that connections built without an explicit limiter still share the
// global bucket.
let sharedLimiter: RequestLimiter | undefined;

export class KeycloakConnection {
  readonly instance: string;
  readonly baseUrl: string;
  readonly #credentials: AdminCredentials;
  readonly #timeoutMs: number;
  readonly #limiter: RequestLimiter;
  readonly #breaker: CircuitBreaker;
  readonly #clock: Clock;
  readonly #refreshMarginMs: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #admin: KeycloakAdminClient;
  readonly #slowAdmins = new Map<number, KeycloakAdminClient>();
  readonly #log: Logger;
  readonly #stats: ConnectionStats = { requests: 0, writes: 0, tokenRequests: 0, circuitRejections: 0 };
  /** Shared client lists per realm, invalidated by every write made through this connection. */
  readonly clientSnapshots: RealmClientSnapshots;
  #token: HeldToken | undefined;
  #tokenInFlight: Promise<void> | undefined;
  #plan: WritePlan | undefined;

  constructor(options: KeycloakConnectionOptions) {
    this.instance = options.instance;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#limiter = options.limiter ?? (sharedLimiter ??= new RequestLimiter());
    this.#clock = options.clock ?? systemClock;
    this.#refreshMarginMs = (options.refreshMarginSeconds ?? 30) * 1000;
    this.#log = loggerFor("keycloak", { instance: options.instance });
    this.clientSnapshots = new RealmClientSnapshots({
      maxAgeMs: 0,
      clock: this.#clock,
      ...options.clientSnapshot,
    });
    this.#breaker = new CircuitBreaker(
      options.instance,
      { ...defaultBreakerConfig, ...options.breaker },
      this.#clock,
      (state) => this.#onCircuitState(state),
    );
    this.#dispatcher =
      options.tls &&
      (options.tls.caPem !== undefined || options.tls.insecureSkipVerify || options.tls.servername)
        ? new Agent({
            connect: {
              ...(options.tls.caPem !== undefined ? { ca: options.tls.caPem } : {}),
              ...(options.tls.servername ? { servername: options.tls.servername } : {}),
              rejectUnauthorized: !options.tls.insecureSkipVerify,
            },
          })
        : undefined;
    this.#admin = this.#newAdminClient(this.#timeoutMs);
  }

  #newAdminClient(timeoutMs: number): KeycloakAdminClient {
    // Node's fetch accepts an undici `dispatcher` in its init; the admin client spreads
    // `requestOptions` into every fetch it makes, which is how per-instance TLS reaches it.
    const requestOptions = this.#dispatcher
      ? ({ dispatcher: this.#dispatcher } as RequestOptions)
      : undefined;
    const admin = new KeycloakAdminClient({
      baseUrl: this.baseUrl,
      realmName: this.#credentials.realm ?? "master",
      timeout: timeoutMs,
      ...(requestOptions ? { requestOptions } : {}),
    });
    // The admin client asks for a token before each request; ours is kept fresh by `call()`.
    admin.registerTokenProvider({ getAccessToken: () => Promise.resolve(this.#token?.accessToken) });
    return admin;
  }

  /**
   * The admin client for a timeout. The admin client holds one timeout per instance, so calls that
   * need a longer one (creating or deleting a realm: Keycloak builds or drops dozens of objects)
   * get their own instance rather than mutating a shared one under concurrent calls.
   */
  #adminFor(timeoutMs: number | undefined): KeycloakAdminClient {
    if (timeoutMs === undefined || timeoutMs === this.#timeoutMs) return this.#admin;
    let admin = this.#slowAdmins.get(timeoutMs);
    if (!admin) {
      admin = this.#newAdminClient(timeoutMs);
      this.#slowAdmins.set(timeoutMs, admin);
    }
    return admin;
  }

  /**
   * From now on this connection writes nothing (./plan.ts): the syncs' writes are recorded in the
   * returned plan, and any other write is refused. There is no way back.
   */
  enterPlanMode(): WritePlan {
    this.#plan ??= new WritePlan();
    return this.#plan;
  }

  /** The plan writes are recorded in, when the connection is in plan mode. */
  get plan(): WritePlan | undefined {
    return this.#plan;
  }

  /** A copy of the counters. */
  get stats(): ConnectionStats {
    return { ...this.#stats };
  }

  get circuitState(): CircuitState {
    return this.#breaker.state;
  }

  /**
   * Runs one admin API request: waits for the rate limits, asks the circuit breaker, makes sure
   * the admin token is valid, then calls `fn`. `fn` must make exactly one admin-client request (so
   * the counters are exact). A 401 re-authenticates and retries once. Errors come out as
   * KeycloakApiError (HTTP status), KeycloakUnreachableError (no answer) or CircuitOpenError.
   */
  async call<T>(options: CallOptions, fn: (admin: KeycloakAdminClient) => Promise<T>): Promise<T> {
    if (this.#plan) {
      if (writeMethods.has(options.method) && !options.changesNothing) {
        // SyncSession records its writes before they get here; anything else must not be sent.
        throw new Error(`plan mode: refused to send "${options.what}" to Keycloak instance ${this.instance}`);
      }
      return this.#call(options, (admin) => fn(planReads(admin)));
    }
    if (!writeMethods.has(options.method)) return this.#call(options, fn);
    // Before (a list in flight is discarded) and after (a list started meanwhile may predate it).
    this.clientSnapshots.invalidate(options.realm);
    try {
      return await this.#call(options, fn);
    } finally {
      this.clientSnapshots.invalidate(options.realm);
    }
  }

  async #call<T>(options: CallOptions, fn: (admin: KeycloakAdminClient) => Promise<T>): Promise<T> {
    const context: RequestContext = {
      instance: this.instance,
      method: options.method,
      what: options.what,
      ...(options.creates ? { creates: true } : {}),
    };
    await this.#limiter.acquire(options.namespace);
    const admin = this.#adminFor(options.timeoutMs);
    const probe = this.#admit();
    try {
      await this.#ensureToken(false);
      try {
        return await this.#send(options.method, context, () => fn(admin));
      } catch (err) {
        if (!(err instanceof KeycloakApiError && err.status === 401)) throw err;
        // The token was revoked or the server restarted with new keys: get a new one, once.
        this.#log.info({ what: options.what }, "Keycloak answered 401; re-authenticating once");
        await this.#ensureToken(true);
        return await this.#send(options.method, context, () => fn(admin));
      }
    } finally {
      // If nothing reported to the breaker (e.g. fn threw before sending), free the half-open probe.
      if (probe) this.#breaker.onNeutral();
    }
  }

  /**
   * GET of a public (unauthenticated) JSON document under the base URL, e.g. a realm's
   * `.well-known/openid-configuration`; same limits, breaker, TLS and timeout as admin calls.
   */
  async getPublicJson(path: string, what: string, namespace?: string): Promise<unknown> {
    const context: RequestContext = { instance: this.instance, method: "GET", what };
    await this.#limiter.acquire(namespace);
    const probe = this.#admit();
    try {
      return await this.#send("GET", context, async () => {
        const response = await fetch(`${this.baseUrl}${path}`, this.#fetchInit({ method: "GET" }));
        if (!response.ok) throw new KeycloakApiError(response.status, context, await safeErrorText(response));
        return await response.json();
      });
    } finally {
      if (probe) this.#breaker.onNeutral();
    }
  }

  /** Releases the connection pool of a custom TLS dispatcher. */
  async close(): Promise<void> {
    await this.#dispatcher?.close();
  }

  #admit(): boolean {
    try {
      return this.#breaker.admit();
    } catch (err) {
      if (err instanceof CircuitOpenError) {
        this.#stats.circuitRejections += 1;
        keycloakCircuitRejectionsTotal.inc({ instance: this.instance });
      }
      throw err;
    }
  }

  #onCircuitState(state: CircuitState): void {
    keycloakCircuitState.set({ instance: this.instance }, circuitStateValue[state]);
    if (state !== "closed" || this.#stats.requests > 0) {
      this.#log.info({ circuit: state }, `circuit breaker of Keycloak instance ${this.instance} is ${state}`);
    }
  }

  #fetchInit(init: RequestInit): RequestInit {
    return {
      ...init,
      signal: AbortSignal.timeout(this.#timeoutMs),
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    };
  }

  /** Sends one request, counts it, feeds the breaker and translates its failure. */
  async #send<T>(
    method: HttpMethod,
    context: RequestContext,
    fn: () => Promise<T>,
    isToken = false,
  ): Promise<T> {
    this.#stats.requests += 1;
    if (isToken) {
      this.#stats.tokenRequests += 1;
      keycloakTokenRequestsTotal.inc({ instance: this.instance });
    } else if (writeMethods.has(method)) this.#stats.writes += 1;
    try {
      const result = await fn();
      keycloakRequestsTotal.inc({ instance: this.instance, method, code: "2xx" });
      this.#breaker.onSuccess();
      return result;
    } catch (err) {
      const translated = translate(err, context);
      if (translated instanceof KeycloakApiError) {
        keycloakRequestsTotal.inc({ instance: this.instance, method, code: String(translated.status) });
        if (translated.status >= 500 || translated.status === 429) this.#breaker.onFailure();
        else this.#breaker.onSuccess();
      } else if (translated instanceof KeycloakUnreachableError) {
        keycloakRequestsTotal.inc({ instance: this.instance, method, code: "error" });
        this.#breaker.onFailure();
      }
      throw translated;
    }
  }

  async #ensureToken(force: boolean): Promise<void> {
    const now = this.#clock.now();
    if (!force && this.#token && now < this.#token.expiresAt - this.#refreshMarginMs) return;
    if (force) this.#token = undefined;
    // Concurrent calls share one token request.
    this.#tokenInFlight ??= this.#obtainToken().finally(() => {
      this.#tokenInFlight = undefined;
    });
    await this.#tokenInFlight;
  }

  async #obtainToken(): Promise<void> {
    const held = this.#token;
    const now = this.#clock.now();
    if (
      held?.refreshToken &&
      held.refreshExpiresAt !== undefined &&
      now < held.refreshExpiresAt - this.#refreshMarginMs
    ) {
      try {
        this.#token = await this.#tokenRequest({
          grant_type: "refresh_token",
          refresh_token: held.refreshToken,
        });
        return;
      } catch (err) {
        // An expired or revoked refresh token is answered 400 invalid_grant: fall back to a full login.
        if (!(err instanceof KeycloakApiError && err.status === 400)) throw err;
      }
    }
    const c = this.#credentials;
    this.#token =
      c.kind === "password"
        ? await this.#tokenRequest({ grant_type: "password", username: c.username, password: c.password })
        : await this.#tokenRequest({ grant_type: "client_credentials" });
  }

  async #tokenRequest(form: Record<string, string>): Promise<HeldToken> {
    const c = this.#credentials;
    const realm = c.realm ?? "master";
    const clientId = c.kind === "password" ? (c.clientId ?? "admin-cli") : c.clientId;
    const context: RequestContext = {
      instance: this.instance,
      method: "POST",
      what: `obtain an admin token (realm "${realm}", client "${clientId}", grant ${form.grant_type ?? ""})`,
    };
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    const body = new URLSearchParams(form);
    if (c.kind === "clientCredentials") {
      headers.authorization = `Basic ${Buffer.from(
        `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`,
      ).toString("base64")}`;
    } else {
      body.set("client_id", clientId);
    }
    const requestedAt = this.#clock.now();
    const json = await this.#send(
      "POST",
      context,
      async () => {
        const response = await fetch(
          `${this.baseUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`,
          this.#fetchInit({ method: "POST", headers, body }),
        );
        if (!response.ok) throw new KeycloakApiError(response.status, context, await safeErrorText(response));
        return (await response.json()) as Record<string, unknown>;
      },
      true,
    );
    const accessToken = json.access_token;
    if (typeof accessToken !== "string") {
      throw new KeycloakApiError(200, context, "the token response has no access_token");
    }
    const expiresIn = typeof json.expires_in === "number" ? json.expires_in : 60;
    const token: HeldToken = { accessToken, expiresAt: requestedAt + expiresIn * 1000 };
    if (typeof json.refresh_token === "string") {
      token.refreshToken = json.refresh_token;
      const refreshExpiresIn = typeof json.refresh_expires_in === "number" ? json.refresh_expires_in : 0;
      // 0 means "no expiry" (offline tokens); treat it as valid as long as the access token.
      token.refreshExpiresAt = requestedAt + (refreshExpiresIn > 0 ? refreshExpiresIn : expiresIn) * 1000;
    }
    return token;
  }
}

/**
 * The admin client as a planned run sees it: a request naming an object the plan only pretends to
 * have created is answered empty, unsent (Keycloak would answer 404).
 */
function planReads(admin: KeycloakAdminClient): KeycloakAdminClient {
  return new Proxy(admin, {
    get(target, group, receiver) {
      const resource: unknown = Reflect.get(target, group, receiver);
      if (typeof resource !== "object" || resource === null) return resource;
      return new Proxy(resource, {
        get(res, method) {
          const member: unknown = Reflect.get(res, method);
          if (typeof member !== "function" || typeof method !== "string") return member;
          return (...args: unknown[]) =>
            WritePlan.namesPlaceholder(args)
              ? Promise.resolve(emptyReadResult(method))
              : (member as (...a: unknown[]) => unknown).apply(res, args);
        },
      });
    },
  });
}

/** Keycloak's error text from a failed response: only the `error`/`error_description` fields. */
async function safeErrorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    return describeErrorBody(JSON.parse(text) as unknown);
  } catch {
    return response.statusText;
  }
}

function describeErrorBody(data: unknown): string {
  if (typeof data === "string") return data;
  if (typeof data !== "object" || data === null) return "";
  const d = data as Record<string, unknown>;
  const parts = [d.error, d.errorMessage, d.error_description].filter(
    (v): v is string => typeof v === "string",
  );
  return [...new Set(parts)].join(": ");
}

/** Maps whatever the admin client or fetch threw onto this layer's error types. */
function translate(err: unknown, context: RequestContext): unknown {
  if (
    err instanceof KeycloakApiError ||
    err instanceof KeycloakUnreachableError ||
    err instanceof CircuitOpenError
  ) {
    return err;
  }
  const status = httpStatusOf(err);
  if (status !== undefined) {
    // The admin client's NetworkError carries the parsed body; its message is Keycloak's text.
    const data = (err as { responseData?: unknown }).responseData;
    return new KeycloakApiError(status, context, describeErrorBody(data));
  }
  const reason = networkReasonOf(err);
  if (reason !== undefined) return new KeycloakUnreachableError(context, reason);
  return err;
}
