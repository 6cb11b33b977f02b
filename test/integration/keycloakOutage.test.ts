// Keycloak going away and coming back, seen through a KeycloakConnection: failures are transient,
// the circuit opens after the threshold and stops the request storm, and closes again once Keycloak
// answers. Keycloak is shared by the integration suite, so "stopped" is a TCP forwarder in front of
// it that stops listening (the client sees exactly what it sees when Keycloak's port is closed:
// connection refused). Also: admin access with client credentials instead of a password.
import { randomUUID } from "node:crypto";
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { register } from "prom-client";
import { getClientSecret, syncClient } from "../../src/keycloak/clientSync.js";
import type { Clock } from "../../src/keycloak/clock.js";
import { KeycloakConnection } from "../../src/keycloak/connection.js";
import { CircuitOpenError, KeycloakUnreachableError } from "../../src/keycloak/errors.js";
import { isTransient } from "../../src/lifecycle/errors.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import type { Owner } from "../../src/keycloak/ownership.js";

// Keycloak started once for the integration run by test/integration/globalSetup.ts.
const env = inject("keycloak");

/** A TCP forwarder to Keycloak that can stop listening and start again on the same port. */
class Forwarder {
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: string) {
    this.#target = new URL(target);
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(Number(this.#target.port || 80), this.#target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Real time plus a test-controlled offset, so the breaker's cool-down passes without waiting. */
class OffsetClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

describe("Given a KeycloakConnection to Keycloak through a forwarder that can be stopped", () => {
  const forwarder = new Forwarder(env.url);
  const clock = new OffsetClock();
  let conn: KeycloakConnection;
  const instance = `kpo-test/outage-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    await forwarder.start();
    conn = new KeycloakConnection({
      instance,
      baseUrl: `http://127.0.0.1:${forwarder.port}`,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      breaker: { failureThreshold: 3, cooldownMs: 30_000 },
      timeoutMs: 30_000,
      clock,
    });
  });
  afterAll(async () => {
    await conn.close();
    await forwarder.stop();
  });

  it("When Keycloak stops and comes back, Then calls fail transient, the circuit opens without a request storm, and closes again", async () => {
    const read = () =>
      conn.call({ method: "GET", what: 'read realm "master"' }, (kc) =>
        kc.realms.findOne({ realm: "master" }),
      );
    expect((await read())?.realm).toBe("master");
    expect(conn.circuitState).toBe("closed");

    await forwarder.stop();
    const sentBefore = conn.stats.requests;
    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) errors.push(await read().catch((e: unknown) => e));

    expect(errors.every((e) => isTransient(e))).toBe(true);
    expect(errors.slice(0, 3).every((e) => e instanceof KeycloakUnreachableError)).toBe(true);
    expect(errors.slice(3).every((e) => e instanceof CircuitOpenError)).toBe(true);
    // 20 calls, 3 requests on the wire: the other 17 were refused locally.
    expect(conn.stats.requests - sentBefore).toBe(3);
    expect(conn.stats.circuitRejections).toBe(17);
    expect(conn.circuitState).toBe("open");
    const gauge = await register.getSingleMetric("kpo_keycloak_circuit_state")?.get();
    expect(gauge?.values.find((v) => v.labels.instance === instance)?.value).toBe(1);

    // Still down when the cool-down ends: the single probe fails and the circuit reopens.
    clock.offset += 30_000;
    expect(await read().catch((e: unknown) => e)).toBeInstanceOf(KeycloakUnreachableError);
    expect(conn.circuitState).toBe("open");
    expect(await read().catch((e: unknown) => e)).toBeInstanceOf(CircuitOpenError);

    await forwarder.start();
    clock.offset += 30_000;
    expect((await read())?.realm).toBe("master");
    expect(conn.circuitState).toBe("closed");
    const after = await register.getSingleMetric("kpo_keycloak_circuit_state")?.get();
    expect(after?.values.find((v) => v.labels.instance === instance)?.value).toBe(0);
  });
});

describe("Given a realm whose admin is a service-account client (client credentials)", () => {
  const realmName = `kpo-sa-${randomUUID().slice(0, 8)}`;
  const owner: Owner = { uid: randomUUID(), namespace: "platform", name: "sa" };
  let adminConn: KeycloakConnection;

  beforeAll(async () => {
    adminConn = new KeycloakConnection({
      instance: "kpo-test/keycloak",
      baseUrl: env.url,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      // The suite shares two cores with a control plane and Keycloak: be patient, not flaky.
      timeoutMs: 60_000,
    });
    await syncRealm(adminConn, { realm: { realm: realmName, enabled: true } }, owner);
    await syncClient(
      adminConn,
      realmName,
      {
        client: {
          clientId: "kpo-operator",
          publicClient: false,
          serviceAccountsEnabled: true,
          standardFlowEnabled: false,
        },
        serviceAccountRoles: { client: { "realm-management": ["realm-admin"] } },
      },
      owner,
    );
  });
  afterAll(async () => {
    await deleteRealm(adminConn, realmName, owner).catch(() => undefined);
    await adminConn.close();
  });

  it("When a connection authenticates with client credentials, Then it can manage that realm", async () => {
    const secret = await getClientSecret(adminConn, realmName, "kpo-operator");
    const conn = new KeycloakConnection({
      instance: "kpo-test/sa",
      baseUrl: env.url,
      credentials: {
        kind: "clientCredentials",
        clientId: "kpo-operator",
        clientSecret: secret,
        realm: realmName,
      },
      timeoutMs: 60_000,
    });
    const result = await syncRealm(
      conn,
      { realm: { realm: realmName, displayName: "Managed by a service account" } },
      owner,
    );
    expect(result.changedFields).toEqual(["displayName"]);
    expect(conn.stats.tokenRequests).toBe(1);
    await conn.close();
  });
});
