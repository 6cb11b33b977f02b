// `kpo export --from-file` on a realm export nobody on this project wrote: JHipster's sample realm
// (test/fixtures/realm-exports/, Keycloak 23.0.1, Apache-2.0). The resources must be valid
// against the CRDs, carry the realm's own objects and none of Keycloak's built-ins, never a
// credential, and what they cannot express must be listed.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createResourceValidator } from "../api/validate.js";
import { repoRoot } from "../testenv/tools.js";
import { exportRealmResources } from "./manifests.js";

const fixture = path.join(repoRoot, "test", "fixtures", "realm-exports", "jhipster-realm.json");
const source = JSON.parse(readFileSync(fixture, "utf8")) as Record<string, unknown>;
const exported = () =>
  exportRealmResources(source, {
    namespace: "iam",
    instanceRef: { name: "main" },
    adopt: false,
    users: true,
  });

describe("kpo export of JHipster's sample realm export", () => {
  it("writes resources the CRD schemas accept", () => {
    const validate = createResourceValidator();
    for (const r of exported().resources)
      expect({ name: r.metadata.name, violations: validate(r) }).toEqual({
        name: r.metadata.name,
        violations: [],
      });
  });

  it("writes the realm, its two applications and its two users, and no built-in client", () => {
    const { resources } = exported();
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      "KeycloakRealm/jhipster",
      "KeycloakClient/jhipster-jhipster-control-center",
      expect.stringMatching(/^KeycloakClient\/jhipster-web-app-[0-9a-f]{6}$/),
      "KeycloakUser/jhipster-admin",
      "KeycloakUser/jhipster-user",
    ]);
    const realm = resources[0]?.spec ?? {};
    expect(realm.realmName).toBe("jhipster");
    const roles = (realm.roles as { name: string }[] | undefined)?.map((r) => r.name);
    expect(roles).toEqual(expect.arrayContaining(["ROLE_ADMIN", "ROLE_USER"]));
    expect(roles).not.toContain("offline_access");
    const groups = (realm.groups as { name: string }[] | undefined)?.map((g) => g.name);
    expect(groups).toEqual(["Admins", "Users"]);
  });

  it("never writes a credential, hashed or not", () => {
    const text = JSON.stringify(exported());
    for (const user of source.users as { credentials?: { secretData?: string }[] }[])
      for (const credential of user.credentials ?? []) expect(text).not.toContain(credential.secretData);
  });

  it("lists what it cannot express, each with its JSON path", () => {
    const { unexpressed } = exported().report;
    expect(unexpressed.length).toBeGreaterThan(0);
    for (const u of unexpressed) {
      expect(u.path).toMatch(/^\$[.[]/);
      expect(u.reason.length).toBeGreaterThan(0);
    }
    const paths = unexpressed.map((u) => u.path);
    // Settings that say what their absence says are no loss: the SAML switches (all off) older
    // consoles wrote on OIDC clients, and the empty user profile of a Keycloak before 24.
    expect(paths.filter((p) => /attributes(\['saml|\.saml)/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.includes("UserProfileProvider"))).toEqual([]);
    // What the realm does configure and the CRDs lack is there, e.g. a security header.
    expect(paths).toContain("$.browserSecurityHeaders.xXSSProtection");
  });
});
