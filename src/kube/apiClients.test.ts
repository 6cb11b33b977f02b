import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlanePki } from "../testenv/pki.js";
import { KeptAliveAgents, keptAliveAgentsOf, makeApiClient, makeObjectApiClient } from "./apiClients.js";
import { requestJson } from "./apiRequest.js";

let dir: string;
let server: https.Server;
let tlsConnections = 0;
const tokens: string[] = [];

function kubeConfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `https://127.0.0.1:${port}`, caFile: path.join(dir, "ca.crt") }],
    users: [{ name: "u", token: "token-1" }],
    contexts: [{ name: "x", cluster: "c", user: "u", namespace: "team-a" }],
    currentContext: "x",
  });
  return kc;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "kpo-apiclients-"));
  const pki = createControlPlanePki(dir);
  server = https.createServer(
    { cert: readFileSync(pki.servingCert), key: readFileSync(pki.servingKey) },
    (req, res) => {
      tokens.push(req.headers.authorization ?? "");
      const name = req.url?.split("/").at(-1) ?? "";
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }));
    },
  );
  server.on("secureConnection", () => tlsConnections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("API clients with kept-alive connections", () => {
  const port = () => (server.address() as AddressInfo).port;

  it("Given the library's own client, When it makes five requests, Then it opens five TLS connections", async () => {
    tlsConnections = 0;
    const core = kubeConfig(port()).makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await core.readNamespace({ name: `ns-${i}` });
    expect(tlsConnections).toBe(5);
  });

  it("Given a kept-alive client, When it makes five requests in sequence, Then one TLS connection serves them, with the kubeconfig's credentials", async () => {
    tlsConnections = 0;
    tokens.length = 0;
    const agents = new KeptAliveAgents();
    const kc = kubeConfig(port());
    const core = makeApiClient(kc, CoreV1Api, agents);
    const names: string[] = [];
    for (let i = 0; i < 5; i++)
      names.push((await core.readNamespace({ name: `ns-${i}` })).metadata?.name ?? "");
    expect(names).toEqual(["ns-0", "ns-1", "ns-2", "ns-3", "ns-4"]);
    expect(tlsConnections).toBe(1);
    expect(tokens).toEqual(Array(5).fill("Bearer token-1"));
    expect(agents.size).toBe(1);
    agents.destroy();
  });

  it("Given raw requests and a generated client made with one KubeConfig, When they alternate, Then they share one TLS connection", async () => {
    tlsConnections = 0;
    tokens.length = 0;
    const kc = kubeConfig(port());
    const core = makeApiClient(kc, CoreV1Api);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const raw = (await requestJson(kc, { path: `/api/v1/namespaces/raw-${i}` })) as {
        metadata: { name: string };
      };
      names.push(raw.metadata.name, (await core.readNamespace({ name: `gen-${i}` })).metadata?.name ?? "");
    }
    expect(names).toEqual(["raw-0", "gen-0", "raw-1", "gen-1", "raw-2", "gen-2"]);
    expect(tlsConnections).toBe(1);
    expect(tokens).toEqual(Array(6).fill("Bearer token-1"));
    expect(keptAliveAgentsOf(kc).size).toBe(1);
    keptAliveAgentsOf(kc).destroy();
  });

  it("Given a CA that no longer matches the server, When a kept-alive client asks, Then the TLS check still refuses it", async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), "kpo-apiclients-other-"));
    try {
      createControlPlanePki(other);
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "c", server: `https://127.0.0.1:${port()}`, caFile: path.join(other, "ca.crt") }],
        users: [{ name: "u", token: "token-1" }],
        contexts: [{ name: "x", cluster: "c", user: "u" }],
        currentContext: "x",
      });
      const agents = new KeptAliveAgents();
      await expect(makeApiClient(kc, CoreV1Api, agents).readNamespace({ name: "x" })).rejects.toThrow();
      agents.destroy();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("Given the object API client, When made, Then it takes the context's namespace as its default", () => {
    const agents = new KeptAliveAgents();
    const client = makeObjectApiClient(kubeConfig(port()), agents) as unknown as { defaultNamespace: string };
    expect(client.defaultNamespace).toBe("team-a");
  });
});
