// The per-realm client list against a real Keycloak: a resync of a realm's unchanged clients costs
// one paged list instead of a find per client, the list carries what the sync compares and the
// secret, drift made by hand is seen once the list is older than its max age, and the operator's own
// writes are never hidden by it. The snapshot's clock is the test's; nothing waits for real time.
import { randomUUID } from "node:crypto";
import type KcAdminClient from "@keycloak/keycloak-admin-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Clock } from "../../src/keycloak/clock.js";
import { syncClient, type DesiredClient } from "../../src/keycloak/clientSync.js";
import { KeycloakConnection } from "../../src/keycloak/connection.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import { adminClient } from "./support.js";

const env = inject("keycloak");
const suffix = randomUUID().slice(0, 8);
const realmName = `kpo-snapshot-${suffix}`;
const realmOwner: Owner = { uid: randomUUID(), namespace: "platform", name: "apps" };
const owner = (i: number): Owner => ({ uid: `uid-${suffix}-${i}`, namespace: "team-a", name: `c${i}` });
const desired = (i: number): DesiredClient => ({
  client: {
    clientId: `c${i}`,
    enabled: true,
    publicClient: false,
    redirectUris: [`https://c${i}.example.com/*`],
  },
});
const MAX_AGE_MS = 60_000;

describe("Given a connection whose client reads share a per-realm list", () => {
  let now = Date.now();
  const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
  let conn: KeycloakConnection;
  let admin: KcAdminClient;
  const ids = [0, 1, 2];

  /** Admin API requests (token requests left out) and writes made by `step`. */
  const costOf = async (step: () => Promise<unknown>) => {
    const before = conn.stats;
    await step();
    const after = conn.stats;
    return {
      requests: after.requests - after.tokenRequests - (before.requests - before.tokenRequests),
      writes: after.writes - before.writes,
    };
  };
  const resyncAll = () => Promise.all(ids.map((i) => syncClient(conn, realmName, desired(i), owner(i))));

  beforeAll(async () => {
    conn = new KeycloakConnection({
      instance: "kpo-test/keycloak",
      baseUrl: env.url,
      credentials: { kind: "password", username: env.adminUsername, password: env.adminPassword },
      timeoutMs: 60_000,
      clientSnapshot: { maxAgeMs: MAX_AGE_MS, clock },
    });
    admin = await adminClient();
    await syncRealm(conn, { realm: { realm: realmName, enabled: true } }, realmOwner);
    for (const i of ids) expect((await syncClient(conn, realmName, desired(i), owner(i))).created).toBe(true);
  });
  afterAll(async () => {
    await deleteRealm(conn, realmName, realmOwner).catch(() => undefined);
    await conn.close();
  });

  it("When the realm's unchanged clients are synced again, Then one list serves all of them, with their secrets, and nothing is written", async () => {
    // The creates wrote to the realm; a list is due again once the max age has passed.
    now += MAX_AGE_MS;
    let results: Awaited<ReturnType<typeof resyncAll>> = [];
    expect(await costOf(async () => (results = await resyncAll()))).toEqual({ requests: 1, writes: 0 });
    for (const [i, result] of results.entries()) {
      const [found] = await admin.clients.find({ realm: realmName, clientId: `c${i}` });
      const { value } = await admin.clients.getClientSecret({ realm: realmName, id: found?.id ?? "" });
      expect(result.client.id).toBe(found?.id);
      expect(result.secret !== undefined && result.secret === value).toBe(true);
    }
    // Still fresh: the next pass costs nothing.
    expect(await costOf(resyncAll)).toEqual({ requests: 0, writes: 0 });
  });

  it("When a client is disabled by hand, Then the sync repairs it once the list is older than its max age", async () => {
    const [found] = await admin.clients.find({ realm: realmName, clientId: "c1" });
    await admin.clients.update({ realm: realmName, id: found?.id ?? "" }, { clientId: "c1", enabled: false });
    // Within the max age the list is trusted: this is the bound on how late drift is seen.
    expect(await costOf(() => syncClient(conn, realmName, desired(1), owner(1)))).toEqual({
      requests: 0,
      writes: 0,
    });
    now += MAX_AGE_MS;
    const repair = await costOf(() => syncClient(conn, realmName, desired(1), owner(1)));
    expect(repair).toEqual({ requests: 2, writes: 1 });
    expect((await admin.clients.findOne({ realm: realmName, id: found?.id ?? "" }))?.enabled).toBe(true);
  });

  it("When the operator has just written to the realm, Then the list is not used until it is due again, and reads go to Keycloak", async () => {
    // The repair above was a write: the list that predates it must not answer.
    const direct = await costOf(() => syncClient(conn, realmName, desired(1), owner(1)));
    expect(direct).toEqual({ requests: 1, writes: 0 });
    now += MAX_AGE_MS;
    expect(await costOf(resyncAll)).toEqual({ requests: 1, writes: 0 });
  });
});
