// KeycloakConnection against a scripted local HTTP server (a fake Keycloak): token handling,
// 401 re-authentication, error translation, breaker and counters. The real Keycloak is exercised
// in test/integration/keycloak*.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { register } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeycloakConnection } from "./connection.js";
import { isTransient } from "../lifecycle/errors.js";
import { CircuitOpenError, KeycloakApiError, KeycloakUnreachableError } from "./errors.js";
import { ManualClock } from "./manualClock.js";
import { RequestLimiter } from "./limits.js";

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let seen: Seen[];
let handler: Handler;
let tokenCounter: number;

const adminPassword = "pa55-word-not-in-messages";

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function issueToken(res: ServerResponse, expiresIn = 60): void {
  tokenCounter += 1;
  json(res, 200, {
    access_token: `access-${tokenCounter}`,
    expires_in: expiresIn,
    refresh_token: `refresh-${tokenCounter}`,
    refresh_expires_in: 1800,
  });
}

/** Default fake Keycloak: issues tokens, answers realm reads for the current token only. */
function defaultHandler(req: Seen, res: ServerResponse): void {
  if (req.url.endsWith("/protocol/openid-connect/token")) return issueToken(res);
  if (req.url.startsWith("/admin/realms/demo")) {
    if (req.authorization !== `Bearer access-${tokenCounter}`)
      return json(res, 401, { error: "HTTP 401 Unauthorized" });
    if (req.method === "PUT") return json(res, 204, {});
    return json(res, 200, { realm: "demo", displayName: "Demo" });
  }
  json(res, 404, { error: "not found" });
}

beforeEach(async () => {
  seen = [];
  tokenCounter = 0;
  handler = defaultHandler;
  server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const entry: Seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        body,
        authorization: req.headers.authorization,
      };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function connection(
  clock = new ManualClock(Date.now()),
  breaker = { failureThreshold: 3, cooldownMs: 5_000 },
  timeoutMs = 2_000,
) {
  const conn = new KeycloakConnection({
    instance: `test/fake-${Math.random().toString(36).slice(2, 8)}`,
    baseUrl,
    credentials: { kind: "password", username: "admin", password: adminPassword },
    limiter: new RequestLimiter(
      { global: { ratePerSecond: 1000, burst: 1000 }, perNamespace: { ratePerSecond: 1000, burst: 1000 } },
      clock,
    ),
    breaker,
    clock,
    timeoutMs,
  });
  return { conn, clock };
}

const readRealm = { method: "GET", what: 'read realm "demo"' } as const;

describe("KeycloakConnection against a fake Keycloak", () => {
  it("Given a fresh connection, When two calls are made, Then one password-grant token serves both", async () => {
    const { conn } = connection();
    await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    const realm = await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    expect(realm?.displayName).toBe("Demo");
    const tokenRequests = seen.filter((s) => s.url.endsWith("/token"));
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.url).toBe("/realms/master/protocol/openid-connect/token");
    expect(new URLSearchParams(tokenRequests[0]?.body).get("grant_type")).toBe("password");
    expect(new URLSearchParams(tokenRequests[0]?.body).get("client_id")).toBe("admin-cli");
    expect(conn.stats).toEqual({ requests: 3, writes: 0, tokenRequests: 1, circuitRejections: 0 });
  });

  it("Given a token close to expiry, When a call is made, Then the token is refreshed first with the refresh token", async () => {
    const { conn, clock } = connection();
    await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    clock.advance(45_000); // 60 s token, 30 s margin
    await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    const tokenRequests = seen.filter((s) => s.url.endsWith("/token"));
    expect(tokenRequests).toHaveLength(2);
    const refresh = new URLSearchParams(tokenRequests[1]?.body);
    expect(refresh.get("grant_type")).toBe("refresh_token");
    expect(refresh.get("refresh_token")).toBe("refresh-1");
    expect(seen.at(-1)?.authorization).toBe("Bearer access-2");
  });

  it("Given Keycloak revoked the token (401), When a call is made, Then the connection re-authenticates once and succeeds", async () => {
    const { conn } = connection();
    await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    tokenCounter += 10; // the server now only accepts a token it has not issued yet
    const realm = await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    expect(realm?.realm).toBe("demo");
    expect(seen.map((s) => `${s.method} ${s.url.split("?")[0] ?? ""}`)).toEqual([
      "POST /realms/master/protocol/openid-connect/token",
      "GET /admin/realms/demo",
      "GET /admin/realms/demo",
      "POST /realms/master/protocol/openid-connect/token",
      "GET /admin/realms/demo",
    ]);
  });

  it("Given Keycloak keeps answering 401, When a call is made, Then it fails permanently after one retry", async () => {
    const { conn } = connection();
    handler = (req, res) =>
      req.url.endsWith("/token") ? issueToken(res) : json(res, 401, { error: "HTTP 401 Unauthorized" });
    const err = await conn
      .call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakApiError);
    expect((err as KeycloakApiError).status).toBe(401);
    expect(isTransient(err)).toBe(false);
    expect(seen.filter((s) => s.url.startsWith("/admin"))).toHaveLength(2);
  });

  it("Given wrong admin credentials, When a call is made, Then the error says so without the password", async () => {
    const { conn } = connection();
    handler = (_req, res) =>
      json(res, 401, { error: "invalid_grant", error_description: "Invalid user credentials" });
    const err = await conn
      .call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakApiError);
    expect((err as Error).message).toContain("Invalid user credentials");
    expect((err as Error).message).toContain("admin credentials Secret");
    expect((err as Error).message).not.toContain(adminPassword);
  });

  it("Given writes, When they succeed, Then the write counter and the request metric count them", async () => {
    const { conn } = connection();
    await conn.call({ method: "PUT", what: "update" }, (kc) =>
      kc.realms.update({ realm: "demo" }, { displayName: "X" }),
    );
    await conn.call({ method: "PUT", what: "update" }, (kc) =>
      kc.realms.update({ realm: "demo" }, { displayName: "Y" }),
    );
    expect(conn.stats.writes).toBe(2);
    const metric = await register.getSingleMetric("kpo_keycloak_requests_total")?.get();
    const value = metric?.values.find(
      (v) => v.labels.instance === conn.instance && v.labels.method === "PUT",
    )?.value;
    expect(value).toBe(2);
  });

  it("Given Keycloak answers 503 repeatedly, When calls keep coming, Then the breaker opens after 3 and later calls are not sent", async () => {
    const { conn, clock } = connection();
    await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    handler = (_req, res) => json(res, 503, { error: "unavailable" });
    const errors: unknown[] = [];
    for (let i = 0; i < 10; i++)
      errors.push(
        await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" })).catch((e: unknown) => e),
      );
    expect(errors.slice(0, 3).every((e) => e instanceof KeycloakApiError && e.status === 503)).toBe(true);
    expect(errors.slice(3).every((e) => e instanceof CircuitOpenError)).toBe(true);
    expect(errors.every((e) => isTransient(e))).toBe(true);
    expect(seen.filter((s) => s.url.startsWith("/admin"))).toHaveLength(4);
    expect(conn.circuitState).toBe("open");
    expect(conn.stats.circuitRejections).toBe(7);
    const gauge = await register.getSingleMetric("kpo_keycloak_circuit_state")?.get();
    expect(gauge?.values.find((v) => v.labels.instance === conn.instance)?.value).toBe(1);

    handler = defaultHandler;
    clock.advance(5_000);
    const realm = await conn.call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }));
    expect(realm?.realm).toBe("demo");
    expect(conn.circuitState).toBe("closed");
  });

  it("Given nothing listens at the URL, When a call is made, Then it fails as unreachable (transient)", async () => {
    const { conn } = connection();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err = await conn
      .call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakUnreachableError);
    expect((err as KeycloakUnreachableError).reason).toBe("ECONNREFUSED");
    expect(isTransient(err)).toBe(true);
    // Re-listen so afterEach can close it.
    await new Promise<void>((resolve) => server.listen(Number(new URL(baseUrl).port), "127.0.0.1", resolve));
  });

  it("Given a server slower than the timeout, When a call is made, Then it fails as a transient timeout", async () => {
    const { conn } = connection(undefined, undefined, 200);
    handler = (req, res) => {
      if (req.url.endsWith("/token")) return issueToken(res);
      setTimeout(() => json(res, 200, {}), 5_000).unref();
    };
    const err = await conn
      .call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakUnreachableError);
    expect((err as KeycloakUnreachableError).reason).toBe("request timed out");
  });

  it("Given a slow operation with its own longer timeout, When the server takes longer than the default, Then the call succeeds", async () => {
    const { conn } = connection(undefined, undefined, 100);
    handler = (req, res) => {
      if (req.url.endsWith("/token")) return issueToken(res);
      setTimeout(() => json(res, 200, { realm: "demo" }), 300).unref();
    };
    const realm = await conn.call({ ...readRealm, timeoutMs: 5_000 }, (kc) =>
      kc.realms.findOne({ realm: "demo" }),
    );
    expect(realm?.realm).toBe("demo");
    const err = await conn
      .call(readRealm, (kc) => kc.realms.findOne({ realm: "demo" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakUnreachableError);
  });
});
