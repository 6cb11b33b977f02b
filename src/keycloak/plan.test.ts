// Plan mode against a scripted local HTTP server (a fake Keycloak): the operator's client sync runs
// unchanged, its writes are recorded with their old and new values, and none reaches the server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncClient } from "./clientSync.js";
import { KeycloakConnection } from "./connection.js";
import { ownerAttributes } from "./ownership.js";
import { PlanStop, WritePlan, emptyReadResult } from "./plan.js";

const owner = { uid: "uid-1", namespace: "team-a", name: "web" };
let server: Server;
let baseUrl: string;
const seen: string[] = [];
let clients: unknown[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method ?? ""} ${req.url ?? ""}`);
    res.writeHead(200, { "content-type": "application/json" });
    if (req.url?.includes("/protocol/openid-connect/token")) {
      res.end(JSON.stringify({ access_token: "t", expires_in: 300 }));
    } else if (req.method === "GET" && req.url?.includes("/clients")) {
      res.end(JSON.stringify(clients));
    } else res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const connection = () =>
  new KeycloakConnection({
    instance: "test/kc",
    baseUrl,
    credentials: { kind: "password", username: "admin", password: "pw" },
  });

describe("Plan mode", () => {
  it("Given an existing client whose name differs, when the client sync runs in plan mode, then the update is recorded with old and new values and no write is sent", async () => {
    clients = [
      {
        id: "c1",
        clientId: "web",
        name: "Old",
        publicClient: true,
        attributes: { ...ownerAttributes({ ...owner, kind: "KeycloakClient" }) },
      },
    ];
    seen.length = 0;
    const conn = connection();
    const plan = conn.enterPlanMode();
    plan.begin("client");
    const result = await syncClient(conn, "shop", { client: { clientId: "web", name: "New" } }, owner);
    expect(result.writes).toBe(1);
    expect(plan.writes).toEqual([
      {
        method: "PUT",
        field: "name",
        what: 'update client "web" in realm "shop" (name)',
        creates: false,
        changes: [{ field: "name", old: "Old", new: "New" }],
      },
    ]);
    expect(seen.filter((r) => !r.startsWith("GET") && !r.includes("/token"))).toEqual([]);
    expect(conn.stats.writes).toBe(0);
  });

  it("Given a client that does not exist, when the client sync runs in plan mode, then it stops at the create, which is not sent", async () => {
    clients = [];
    seen.length = 0;
    const conn = connection();
    const plan = conn.enterPlanMode();
    plan.begin("client");
    await expect(syncClient(conn, "shop", { client: { clientId: "web" } }, owner)).rejects.toBeInstanceOf(
      PlanStop,
    );
    expect(plan.writes.map((w) => w.what)).toEqual(['create client "web" in realm "shop"']);
    expect(seen.some((r) => r.startsWith("POST /admin"))).toBe(false);
  });

  it("Given a connection in plan mode, when a write is made around the sync session, then it is refused before it is sent", async () => {
    seen.length = 0;
    const conn = connection();
    conn.enterPlanMode();
    await expect(
      conn.call({ method: "DELETE", what: "delete realm x" }, (kc) => kc.realms.del({ realm: "x" })),
    ).rejects.toThrow(/plan mode: refused to send "delete realm x"/);
    expect(seen).toEqual([]);
  });

  it("Given a nested create, when it is planned, then the sync carries on with a placeholder id whose reads are answered empty and unsent", () => {
    const plan = new WritePlan();
    plan.begin("realm");
    const created = plan.record<{ id: string }>({
      method: "POST",
      field: "group:/a",
      what: "create group",
      creates: true,
    });
    expect(created.id).toMatch(/^planned:/);
    expect(WritePlan.namesPlaceholder([{ realm: "r", id: created.id }])).toBe(true);
    expect(WritePlan.namesPlaceholder([{ realm: "r", id: "real" }])).toBe(false);
    expect(emptyReadResult("listRoleMappings")).toEqual([]);
    expect(emptyReadResult("findOne")).toBeUndefined();
    expect(emptyReadResult("getCompositeRoles")).toEqual([]);
  });
});
