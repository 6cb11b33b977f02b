import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../api/index.js";
import { changedFields } from "../keycloak/diff.js";
import { desiredRealm, realmSettings, smtpServer } from "./realmRepresentation.js";

const minimal: KeycloakRealmSpec = { instanceRef: { name: "main" }, realmName: "apps" };

describe("desiredRealm", () => {
  it("Given only the required fields, when mapped, then only the realm name is managed", () => {
    expect(desiredRealm(minimal)).toEqual({ realm: { realm: "apps" } });
    expect(Object.keys(desiredRealm(minimal))).toEqual(["realm"]);
  });

  it("Given every realm setting, when mapped, then each lands on its RealmRepresentation field", () => {
    const spec: KeycloakRealmSpec = {
      ...minimal,
      displayName: "Apps",
      enabled: true,
      sslRequired: "all",
      registrationAllowed: false,
      loginWithEmailAllowed: true,
      resetPasswordAllowed: true,
      rememberMe: false,
      verifyEmail: true,
      duplicateEmailsAllowed: false,
      passwordPolicy: "length(12) and digits(1)",
      bruteForceProtection: {
        enabled: true,
        permanentLockout: false,
        maxTemporaryLockouts: 3,
        failureFactor: 5,
        waitIncrementSeconds: 60,
        maxFailureWaitSeconds: 900,
        minimumQuickLoginWaitSeconds: 60,
        quickLoginCheckMilliSeconds: 1000,
        maxDeltaTimeSeconds: 43200,
      },
      tokens: {
        accessTokenLifespanSeconds: 300,
        accessTokenLifespanForImplicitFlowSeconds: 900,
        accessCodeLifespanSeconds: 60,
        ssoSessionIdleTimeoutSeconds: 1800,
        ssoSessionMaxLifespanSeconds: 36000,
        offlineSessionIdleTimeoutSeconds: 2592000,
        offlineSessionMaxLifespanEnabled: true,
        offlineSessionMaxLifespanSeconds: 5184000,
        revokeRefreshToken: true,
        refreshTokenMaxReuse: 0,
      },
      themes: { login: "keycloak.v2", account: "keycloak.v3", admin: "keycloak.v2", email: "keycloak" },
    };
    expect(realmSettings(spec)).toEqual({
      realm: "apps",
      displayName: "Apps",
      enabled: true,
      sslRequired: "all",
      registrationAllowed: false,
      loginWithEmailAllowed: true,
      resetPasswordAllowed: true,
      rememberMe: false,
      verifyEmail: true,
      duplicateEmailsAllowed: false,
      passwordPolicy: "length(12) and digits(1)",
      bruteForceProtected: true,
      permanentLockout: false,
      maxTemporaryLockouts: 3,
      failureFactor: 5,
      waitIncrementSeconds: 60,
      maxFailureWaitSeconds: 900,
      minimumQuickLoginWaitSeconds: 60,
      quickLoginCheckMilliSeconds: 1000,
      maxDeltaTimeSeconds: 43200,
      accessTokenLifespan: 300,
      accessTokenLifespanForImplicitFlow: 900,
      accessCodeLifespan: 60,
      ssoSessionIdleTimeout: 1800,
      ssoSessionMaxLifespan: 36000,
      offlineSessionIdleTimeout: 2592000,
      offlineSessionMaxLifespanEnabled: true,
      offlineSessionMaxLifespan: 5184000,
      revokeRefreshToken: true,
      refreshTokenMaxReuse: 0,
      loginTheme: "keycloak.v2",
      accountTheme: "keycloak.v3",
      adminTheme: "keycloak.v2",
      emailTheme: "keycloak",
    });
  });

  it("Given a partial token block, when mapped, then the other lifespans stay unmanaged", () => {
    const settings = realmSettings({ ...minimal, tokens: { accessTokenLifespanSeconds: 120 } });
    expect(settings).toEqual({ realm: "apps", accessTokenLifespan: 120 });
    expect("ssoSessionIdleTimeout" in settings).toBe(false);
  });

  it("Given the realm Keycloak returns with extra defaults, when compared, then no managed field differs", () => {
    const desired = realmSettings({ ...minimal, enabled: true, sslRequired: "external", rememberMe: false });
    const actual = {
      realm: "apps",
      id: "x",
      enabled: true,
      sslRequired: "external",
      rememberMe: false,
      verifyEmail: true,
    };
    expect(changedFields({ ...desired }, actual)).toEqual([]);
    expect(changedFields({ ...desired }, { ...actual, rememberMe: true })).toEqual(["rememberMe"]);
  });

  it("Given roles with and without composites, when mapped, then composites appear only where the spec lists them", () => {
    const desired = desiredRealm({
      ...minimal,
      roles: [
        { name: "viewer" },
        {
          name: "admin",
          description: "Everything",
          composites: { realm: ["viewer"], client: { "billing-api": ["invoices:write"] } },
        },
      ],
    });
    expect(desired.roles).toEqual([
      { name: "viewer" },
      {
        name: "admin",
        description: "Everything",
        composites: { realm: ["viewer"], client: { "billing-api": ["invoices:write"] } },
      },
    ]);
    expect(desired.groups).toBeUndefined();
  });

  it("Given three levels of groups, when mapped, then they nest as subGroups with their role mappings", () => {
    const desired = desiredRealm({
      ...minimal,
      groups: [
        {
          name: "engineering",
          realmRoles: ["viewer"],
          subGroups: [
            {
              name: "platform",
              clientRoles: { "billing-api": ["invoices:read"] },
              subGroups: [{ name: "oncall", realmRoles: ["admin"] }],
            },
          ],
        },
        { name: "guests" },
      ],
    });
    expect(desired.groups).toEqual([
      {
        name: "engineering",
        realmRoles: ["viewer"],
        subGroups: [
          {
            name: "platform",
            clientRoles: { "billing-api": ["invoices:read"] },
            subGroups: [{ name: "oncall", realmRoles: ["admin"] }],
          },
        ],
      },
      { name: "guests" },
    ]);
  });

  it("Given a spec, when the result is changed, then the spec is not (lists are copied)", () => {
    const spec: KeycloakRealmSpec = { ...minimal, groups: [{ name: "g", realmRoles: ["a"] }] };
    const desired = desiredRealm(spec);
    desired.groups?.[0]?.realmRoles?.push("b");
    expect(spec.groups?.[0]?.realmRoles).toEqual(["a"]);
  });
});

describe("smtpServer", () => {
  const smtp = {
    host: "smtp.example.com",
    port: 587,
    from: "no-reply@example.com",
    fromDisplayName: "Apps",
    starttls: true,
    ssl: false,
    auth: true,
    user: "mailer",
    passwordSecretRef: { name: "smtp", key: "password" },
  };

  it("Given SMTP with auth and a resolved password, when mapped, then every value is a string and the password is set", () => {
    expect(smtpServer({ ...minimal, smtp }, new Map([["spec.smtp.passwordSecretRef", "s3cret"]]))).toEqual({
      host: "smtp.example.com",
      port: "587",
      from: "no-reply@example.com",
      fromDisplayName: "Apps",
      starttls: "true",
      ssl: "false",
      auth: "true",
      user: "mailer",
      password: "s3cret",
    });
  });

  it("Given a password Secret the caller did not resolve, when mapped, then it fails naming the Secret", () => {
    expect(() => desiredRealm({ ...minimal, smtp })).toThrow(
      /spec.smtp.passwordSecretRef names Secret "smtp" key "password".*not resolved/,
    );
  });

  it("Given SMTP without a password reference, when mapped, then no password key is sent even if one is passed", () => {
    const server = smtpServer(
      { ...minimal, smtp: { host: "mail", from: "a@b.c" } },
      new Map([["spec.smtp.passwordSecretRef", "unused"]]),
    );
    expect(server).toEqual({ host: "mail", from: "a@b.c" });
  });

  it("Given no SMTP block, when mapped, then SMTP is not managed", () => {
    expect(smtpServer(minimal)).toBeUndefined();
    expect("smtpServer" in desiredRealm(minimal)).toBe(false);
  });
});
