// Authentication flows, flow bindings, required actions and client flow overrides against a real
// Keycloak: the nested browser flow as Keycloak stores it, a direct-grant login through a client's
// override, zero-write resyncs, drift repair, minimal reordering, refusals that leave the realm
// untouched — and, through the operator, the status a bad binding gives and the refusals of the CRD
// and the policies.
import { randomUUID } from "node:crypto";
import type AuthenticationExecutionInfoRepresentation from "@keycloak/keycloak-admin-client/lib/defs/authenticationExecutionInfoRepresentation.js";
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakRealmSpec } from "../../src/api/index.js";
import { ownedFlowsAttribute } from "../../src/keycloak/authenticationFlows.js";
import { deleteClient, syncClient } from "../../src/keycloak/clientSync.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { MissingReferenceError, OwnershipError } from "../../src/keycloak/errors.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import { desiredClient } from "../../src/resources/clientRepresentation.js";
import { desiredRealm } from "../../src/resources/realmRepresentation.js";
import {
  condition,
  createInstance,
  createNamespace,
  installCrds,
  kubeConfig,
  Resources,
  startOperatorProcess,
  tenantKubeConfig,
  type OperatorProcess,
  adminConnection,
} from "./support.js";

const env = inject("keycloak");
const suffix = randomUUID().slice(0, 8);
const realmName = `kpo-flows-${suffix}`;
// The admin client types the required-action listing as taking no payload but the realm.
const inRealm = { realm: realmName } as never;
const owner: Owner = { uid: randomUUID(), namespace: "team-a", name: "sso" };
const clientOwner: Owner = { uid: randomUUID(), namespace: "team-a", name: "cli" };

const connect = () => adminConnection();

type Requirement = "REQUIRED" | "ALTERNATIVE" | "CONDITIONAL" | "DISABLED";
const run = (authenticator: string, requirement: Requirement) => ({ authenticator, requirement });
const enter = (subFlow: string, requirement: Requirement) => ({ subFlow, requirement });

// Sub-flow aliases are unique in a realm and the built-in browser flow already has "forms".
function realmSpec(): KeycloakRealmSpec {
  return {
    instanceRef: { name: "kc" },
    realmName,
    // The CRD defaults it; a spec handed to the sync directly must say it.
    enabled: true,
    displayName: "Flows",
    authenticationFlows: [
      {
        alias: "corp browser",
        description: "Cookie, or the corporate forms",
        executions: [run("auth-cookie", "ALTERNATIVE"), enter("corp browser forms", "ALTERNATIVE")],
      },
      {
        alias: "corp browser forms",
        description: "Password, then OTP for users who set it up",
        executions: [
          run("auth-username-password-form", "REQUIRED"),
          enter("corp browser otp", "CONDITIONAL"),
        ],
      },
      {
        alias: "corp browser otp",
        executions: [run("conditional-user-configured", "REQUIRED"), run("auth-otp-form", "REQUIRED")],
      },
      {
        alias: "corp direct grant",
        executions: [
          run("direct-grant-validate-username", "REQUIRED"),
          run("direct-grant-validate-password", "REQUIRED"),
        ],
      },
    ],
    flowBindings: { browser: "corp browser" },
    requiredActions: [
      { alias: "CONFIGURE_TOTP", enabled: true, defaultAction: false },
      { alias: "TERMS_AND_CONDITIONS", enabled: true },
    ],
  };
}

const clientSpec = {
  realmRef: { name: "sso" },
  clientId: "cli",
  publicClient: true,
  directAccessGrantsEnabled: true,
  standardFlowEnabled: false,
  authenticationFlowBindingOverrides: { directGrant: "corp direct grant" },
};

/** One line per execution: depth, what it runs, requirement — the order Keycloak runs them in. */
function outline(executions: AuthenticationExecutionInfoRepresentation[]): string[] {
  return executions.map(
    (e) =>
      `${"  ".repeat(e.level ?? 0)}${e.authenticationFlow ? `flow ${e.displayName ?? ""}` : (e.providerId ?? "")} ${e.requirement ?? ""}`,
  );
}

function passwordGrant(clientId: string, username: string, password: string): Promise<Response> {
  return fetch(`${env.url}/realms/${realmName}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", client_id: clientId, username, password }),
  });
}

describe("Given a real Keycloak and a realm with custom flows, bindings and required actions", () => {
  let conn: KeycloakConnection;
  const read = <T>(fn: Parameters<KeycloakConnection["call"]>[1]) =>
    conn.call({ method: "GET", what: "test read" }, fn) as Promise<T>;
  const executions = (flow: string) =>
    read<AuthenticationExecutionInfoRepresentation[]>((kc) =>
      kc.authenticationManagement.getExecutions({ realm: realmName, flow }),
    );
  const write = (fn: Parameters<KeycloakConnection["call"]>[1]) =>
    conn.call({ method: "PUT", what: "test change by hand" }, fn);

  beforeAll(() => {
    conn = connect();
  });
  afterAll(async () => {
    await deleteClient(conn, realmName, "cli", clientOwner).catch(() => undefined);
    await deleteRealm(conn, realmName, owner).catch(() => undefined);
    await conn.close();
  });

  it("When it is synced, Then Keycloak has the nested flow in order with its requirements, bound as the browser flow", async () => {
    const result = await syncRealm(conn, desiredRealm(realmSpec()), owner);
    expect(result.created).toBe(true);
    expect(outline(await executions("corp browser"))).toEqual([
      "auth-cookie ALTERNATIVE",
      "flow corp browser forms ALTERNATIVE",
      "  auth-username-password-form REQUIRED",
      "  flow corp browser otp CONDITIONAL",
      "    conditional-user-configured REQUIRED",
      "    auth-otp-form REQUIRED",
    ]);
    expect(outline(await executions("corp direct grant"))).toEqual([
      "direct-grant-validate-username REQUIRED",
      "direct-grant-validate-password REQUIRED",
    ]);
    const realm = await read<{ browserFlow?: string; attributes?: Record<string, string> }>((kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    expect(realm.browserFlow).toBe("corp browser");
    // Top-level flows this CR created are on record in the realm, with its uid.
    expect(JSON.parse(realm.attributes?.[ownedFlowsAttribute] ?? "{}")).toEqual({
      owner: owner.uid,
      flows: ["corp browser", "corp direct grant"],
    });
    const flows = await read<{ alias?: string; description?: string }[]>((kc) =>
      kc.authenticationManagement.getFlows({ realm: realmName }),
    );
    expect(flows.find((f) => f.alias === "corp browser")?.description).toBe("Cookie, or the corporate forms");
    const actions = await read<{ alias?: string; enabled?: boolean }[]>((kc) =>
      kc.authenticationManagement.getRequiredActions(inRealm),
    );
    expect(actions.find((a) => a.alias === "TERMS_AND_CONDITIONS")?.enabled).toBe(true);
  });

  it("When it is synced again unchanged, Then no write is made", async () => {
    const result = await syncRealm(conn, desiredRealm(realmSpec()), owner);
    expect(result.changedFields).toEqual([]);
    expect(result.writes).toBe(0);
  });

  it("When a client overrides its direct grant with the custom flow, Then a user logs in through it and a wrong password is refused", async () => {
    const result = await syncClient(conn, realmName, desiredClient(clientSpec), clientOwner);
    expect(result.created).toBe(true);
    const flowId = (
      await read<{ alias?: string; id?: string }[]>((kc) =>
        kc.authenticationManagement.getFlows({ realm: realmName }),
      )
    ).find((f) => f.alias === "corp direct grant")?.id;
    const [client] = await read<{ authenticationFlowBindingOverrides?: Record<string, string> }[]>((kc) =>
      kc.clients.find({ realm: realmName, clientId: "cli" }),
    );
    expect(flowId).toBeDefined();
    expect(client?.authenticationFlowBindingOverrides).toEqual({ direct_grant: flowId });

    await conn.call({ method: "POST", what: "test user" }, (kc) =>
      kc.users.create({
        realm: realmName,
        username: "alice",
        enabled: true,
        email: "alice@example.com",
        emailVerified: true,
        firstName: "Alice",
        lastName: "Doe",
        credentials: [{ type: "password", value: "correct horse battery", temporary: false }],
      }),
    );
    const ok = await passwordGrant("cli", "alice", "correct horse battery");
    const body = (await ok.json()) as { access_token?: string };
    expect({ status: ok.status, body }).toMatchObject({ status: 200 });
    expect(body.access_token).toBeTruthy();
    expect((await passwordGrant("cli", "alice", "wrong")).status).toBe(401);

    const again = await syncClient(conn, realmName, desiredClient(clientSpec), clientOwner);
    expect(again.writes).toBe(0);
  });

  it("When a requirement is changed, an execution deleted and a required action disabled by hand, Then the next sync restores them", async () => {
    const before = await executions("corp browser");
    const cookie = before.find((e) => e.providerId === "auth-cookie");
    const otp = before.find((e) => e.providerId === "auth-otp-form");
    await write((kc) =>
      kc.authenticationManagement.updateExecution(
        { realm: realmName, flow: "corp browser" },
        { ...cookie, requirement: "DISABLED" },
      ),
    );
    await write((kc) => kc.authenticationManagement.delExecution({ realm: realmName, id: otp?.id ?? "" }));
    const totp = (
      await read<{ alias?: string }[]>((kc) => kc.authenticationManagement.getRequiredActions(inRealm))
    ).find((a) => a.alias === "CONFIGURE_TOTP");
    await write((kc) =>
      kc.authenticationManagement.updateRequiredAction(
        { realm: realmName, alias: "CONFIGURE_TOTP" },
        { ...totp, enabled: false },
      ),
    );

    const result = await syncRealm(conn, desiredRealm(realmSpec()), owner);
    expect(result.changedFields).toEqual(
      expect.arrayContaining([
        "authenticationFlow:corp browser",
        "authenticationFlow:corp browser/corp browser forms/corp browser otp",
        "requiredAction:CONFIGURE_TOTP",
      ]),
    );
    expect(outline(await executions("corp browser"))).toEqual([
      "auth-cookie ALTERNATIVE",
      "flow corp browser forms ALTERNATIVE",
      "  auth-username-password-form REQUIRED",
      "  flow corp browser otp CONDITIONAL",
      "    conditional-user-configured REQUIRED",
      "    auth-otp-form REQUIRED",
    ]);
    const actions = await read<{ alias?: string; enabled?: boolean }[]>((kc) =>
      kc.authenticationManagement.getRequiredActions(inRealm),
    );
    expect(actions.find((a) => a.alias === "CONFIGURE_TOTP")?.enabled).toBe(true);
    expect((await syncRealm(conn, desiredRealm(realmSpec()), owner)).writes).toBe(0);
  });

  it("When the spec swaps two steps, Then one move puts them in order and nothing else is written", async () => {
    const swapped = realmSpec();
    const top = swapped.authenticationFlows?.[0];
    top?.executions.reverse();
    const result = await syncRealm(conn, desiredRealm(swapped), owner);
    expect(result.writes).toBe(1);
    expect(outline(await executions("corp browser")).filter((l) => !l.startsWith(" "))).toEqual([
      "flow corp browser forms ALTERNATIVE",
      "auth-cookie ALTERNATIVE",
    ]);
    expect((await syncRealm(conn, desiredRealm(realmSpec()), owner)).writes).toBe(1);
  });

  it("When a binding names a flow that exists nowhere, Then the sync fails saying so and nothing in the realm changes", async () => {
    const spec = { ...realmSpec(), displayName: "Changed", flowBindings: { browser: "no such flow" } };
    const sync = syncRealm(conn, desiredRealm(spec), owner);
    await expect(sync).rejects.toBeInstanceOf(MissingReferenceError);
    await expect(sync).rejects.toThrow(/spec\.flowBindings\.browser names flow "no such flow"/);
    const realm = await read<{ displayName?: string; browserFlow?: string }>((kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    expect(realm.displayName).toBe("Flows");
    expect(realm.browserFlow).toBe("corp browser");
  });

  it("When the spec names a built-in flow (past the CRD), Then the sync refuses it before writing anything", async () => {
    const spec = realmSpec();
    spec.displayName = "Changed";
    spec.authenticationFlows?.push({ alias: "browser", executions: [run("auth-cookie", "REQUIRED")] });
    await expect(syncRealm(conn, desiredRealm(spec), owner)).rejects.toBeInstanceOf(OwnershipError);
    expect(outline(await executions("browser"))[0]).toBe("auth-cookie ALTERNATIVE");
    const realm = await read<{ displayName?: string }>((kc) => kc.realms.findOne({ realm: realmName }));
    expect(realm.displayName).toBe("Flows");
  });

  it("When a client override names an unknown flow, Then the client sync fails before writing", async () => {
    const spec = { ...clientSpec, authenticationFlowBindingOverrides: { browser: "nowhere" } };
    await expect(syncClient(conn, realmName, desiredClient(spec), clientOwner)).rejects.toThrow(
      /spec\.authenticationFlowBindingOverrides\.browser names flow "nowhere", which does not exist/,
    );
  });

  it("When a flow a client still overrides with leaves the spec, Then the sync names the client and changes nothing; once the client moves, the flow is deleted", async () => {
    const spec = realmSpec();
    spec.authenticationFlows = spec.authenticationFlows?.filter((f) => f.alias !== "corp direct grant");
    await expect(syncRealm(conn, desiredRealm(spec), owner)).rejects.toThrow(
      /client\(s\) "cli" of realm "[^"]+" still override their login with it/,
    );
    const aliases = async () =>
      (
        await read<{ alias?: string }[]>((kc) => kc.authenticationManagement.getFlows({ realm: realmName }))
      ).map((f) => f.alias);
    expect(await aliases()).toContain("corp direct grant");

    const moved = { ...clientSpec, authenticationFlowBindingOverrides: { directGrant: "direct grant" } };
    await syncClient(conn, realmName, desiredClient(moved), clientOwner);
    const result = await syncRealm(conn, desiredRealm(spec), owner);
    expect(result.changedFields).toEqual(["authenticationFlow:corp direct grant", "authenticationFlows"]);
    expect(await aliases()).not.toContain("corp direct grant");
    const realm = await read<{ attributes?: Record<string, string> }>((kc) =>
      kc.realms.findOne({ realm: realmName }),
    );
    expect(JSON.parse(realm.attributes?.[ownedFlowsAttribute] ?? "{}")).toEqual({
      owner: owner.uid,
      flows: ["corp browser"],
    });
  });
});

describe("Given the operator, a realm team's namespace and the CRDs", () => {
  let kc: k8s.KubeConfig;
  let resources: Resources;
  let operator: OperatorProcess;
  let team: string;
  let attacker: Resources;
  let conn: KeycloakConnection;
  const operatorRealm = `kpo-flows-op-${suffix}`;
  const scriptRealm = `kpo-flows-script-${suffix}`;
  const realmObject = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakRealm",
    metadata: { name },
    spec: { instanceRef: { name: "main" }, deletionPolicy: "Delete", ...spec },
  });

  beforeAll(async () => {
    kc = kubeConfig();
    resources = new Resources(kc);
    conn = connect();
    await installCrds(kc);
    team = await createNamespace(kc, "flows");
    operator = await startOperatorProcess({
      name: "flows",
      extraArgs: ["--resync-period-ms", "3000", "--leader-election-namespace", team],
    });
    await createInstance(kc, resources, team, "main", { namespaces: [team] });
    attacker = new Resources(await tenantKubeConfig(kc, team));
  });
  afterAll(async () => {
    await operator?.stop();
    for (const realm of [operatorRealm, scriptRealm])
      await conn
        .call({ method: "DELETE", what: "test cleanup" }, (c) => c.realms.del({ realm }))
        .catch(() => undefined);
    await conn.close();
  });

  it("When a realm's binding is changed to a missing flow, Then its status says so and its other settings stay as they were", async () => {
    await resources.create(
      "keycloakrealms",
      team,
      realmObject("sso", {
        realmName: operatorRealm,
        displayName: "Before",
        authenticationFlows: [{ alias: "corp browser", executions: [run("auth-cookie", "ALTERNATIVE")] }],
        flowBindings: { browser: "corp browser" },
      }),
    );
    await resources.waitForStatus("keycloakrealms", team, "sso", (o) => o.status?.phase === "Ready");
    await resources.patchSpec("keycloakrealms", team, "sso", {
      displayName: "After",
      flowBindings: { browser: "missing flow" },
    });
    const failed = await resources.waitForStatus(
      "keycloakrealms",
      team,
      "sso",
      (o) => o.status?.phase === "Failed",
    );
    expect(condition(failed, "Ready")?.status).toBe("False");
    expect(JSON.stringify(failed.status)).toContain(
      'spec.flowBindings.browser names flow \\"missing flow\\", which is neither in spec.authenticationFlows nor in realm',
    );
    const realm = await conn.call({ method: "GET", what: "test read" }, (c) =>
      c.realms.findOne({ realm: operatorRealm }),
    );
    expect(realm?.displayName).toBe("Before");
    expect(realm?.browserFlow).toBe("corp browser");
  });

  it("When a tenant names a built-in flow with its own token, Then the API server refuses it with a message saying what to do", async () => {
    const attempt = attacker.create(
      "keycloakrealms",
      team,
      realmObject("builtin", {
        realmName: `kpo-flows-builtin-${suffix}`,
        authenticationFlows: [{ alias: "browser", executions: [run("auth-cookie", "REQUIRED")] }],
      }),
    );
    await expect(attempt).rejects.toThrow(
      /names one of Keycloak's built-in flows, which are never edited in place/,
    );
    const realm = await conn.call({ method: "GET", what: "test read" }, (c) =>
      c.realms.findOne({ realm: `kpo-flows-builtin-${suffix}` }),
    );
    expect(realm).toBeFalsy();
  });

  it("When a tenant's realm flow runs a script authenticator, Then the policy refuses it and Keycloak never sees the realm", async () => {
    await attacker.create(
      "keycloakrealms",
      team,
      realmObject("scripted", {
        realmName: scriptRealm,
        authenticationFlows: [
          {
            alias: "scripted",
            executions: [run("auth-cookie", "ALTERNATIVE"), run("script-allow-all.js", "ALTERNATIVE")],
          },
        ],
      }),
    );
    const denied = await attacker.waitForStatus(
      "keycloakrealms",
      team,
      "scripted",
      (o) => condition(o, "PolicyCompliant")?.status === "False",
    );
    expect(condition(denied, "PolicyCompliant")?.message).toContain(
      'spec.authenticationFlows[scripted].executions[1] runs authenticator "script-allow-all.js"',
    );
    const realm = await conn.call({ method: "GET", what: "test read" }, (c) =>
      c.realms.findOne({ realm: scriptRealm }),
    );
    expect(realm).toBeFalsy();
  });
});
