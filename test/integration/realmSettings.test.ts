// The realm settings beyond names and roles against a real Keycloak: a spec setting events,
// localization (settings and texts), OTP, WebAuthn, security headers, lifespans, default groups and
// attributes is mapped (src/resources) and synced (src/keycloak); Keycloak reads back every value; a
// resync writes nothing; events disabled by hand and a text changed by hand are repaired.
import { randomUUID } from "node:crypto";
import { adminConnection } from "./support.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../../src/api/index.js";
import type { KeycloakConnection } from "../../src/keycloak/connection.js";
import { MissingReferenceError } from "../../src/keycloak/errors.js";
import { deleteRealm, syncRealm } from "../../src/keycloak/realmSync.js";
import type { Owner } from "../../src/keycloak/ownership.js";
import { desiredRealm } from "../../src/resources/realmRepresentation.js";
import type OrganizationRepresentation from "@keycloak/keycloak-admin-client/lib/defs/organizationRepresentation.js";
import type { UserProfileConfig } from "@keycloak/keycloak-admin-client/lib/defs/userProfileMetadata.js";

const connect = () => adminConnection();

const realmName = `kpo-settings-${randomUUID().slice(0, 8)}`;
const owner: Owner = { uid: randomUUID(), namespace: "team-a", name: "settings" };

const spec: KeycloakRealmSpec = {
  instanceRef: { name: "main" },
  realmName,
  enabled: true,
  displayNameHtml: "<b>Shop</b>",
  editUsernameAllowed: true,
  registrationEmailAsUsername: true,
  userManagedAccessAllowed: true,
  defaultSignatureAlgorithm: "ES256",
  bruteForceProtection: { enabled: true, strategy: "LINEAR" },
  attributes: { "team.example/cost-center": "42" },
  tokens: {
    ssoSessionIdleTimeoutSeconds: 1800,
    ssoSessionMaxLifespanSeconds: 36000,
    ssoSessionIdleTimeoutRememberMeSeconds: 3600,
    ssoSessionMaxLifespanRememberMeSeconds: 72000,
    clientSessionIdleTimeoutSeconds: 900,
    clientSessionMaxLifespanSeconds: 7200,
    clientOfflineSessionIdleTimeoutSeconds: 86400,
    clientOfflineSessionMaxLifespanSeconds: 172800,
    accessCodeLifespanLoginSeconds: 600,
    accessCodeLifespanUserActionSeconds: 120,
    actionTokenGeneratedByAdminLifespanSeconds: 86400,
    actionTokenGeneratedByUserLifespanSeconds: 600,
  },
  otpPolicy: {
    type: "totp",
    algorithm: "HmacSHA256",
    digits: 8,
    periodSeconds: 60,
    initialCounter: 2,
    lookAheadWindow: 2,
    codeReusable: false,
  },
  webAuthnPolicy: {
    rpEntityName: "Shop",
    signatureAlgorithms: ["ES256", "RS256"],
    rpId: "shop.example.com",
    attestationConveyancePreference: "direct",
    authenticatorAttachment: "cross-platform",
    requireResidentKey: "No",
    userVerificationRequirement: "preferred",
    createTimeoutSeconds: 60,
    avoidSameAuthenticatorRegister: true,
    extraOrigins: ["https://app.shop.example.com"],
  },
  webAuthnPasswordlessPolicy: {
    rpEntityName: "Shop passkeys",
    signatureAlgorithms: ["ES256"],
    requireResidentKey: "Yes",
    userVerificationRequirement: "required",
  },
  securityHeaders: {
    xFrameOptions: "DENY",
    contentSecurityPolicy: "frame-src 'self'; frame-ancestors 'none'; object-src 'none';",
    strictTransportSecurity: "max-age=63072000; includeSubDomains",
  },
  events: {
    enabled: true,
    expirationSeconds: 2592000,
    listeners: ["jboss-logging"],
    enabledTypes: ["LOGIN", "LOGIN_ERROR", "LOGOUT"],
    adminEventsEnabled: true,
    adminEventsDetailsEnabled: true,
  },
  localization: {
    internationalizationEnabled: true,
    supportedLocales: ["en", "de"],
    defaultLocale: "en",
    texts: { de: { loginTitle: "Anmelden bei Shop", doLogIn: "Einloggen" }, en: { loginTitle: "Shop" } },
  },
  groups: [{ name: "staff", subGroups: [{ name: "readers" }] }, { name: "partners" }],
  userProfile: {
    unmanagedAttributePolicy: "ADMIN_VIEW",
    attributes: [
      {
        name: "phoneNumber",
        displayName: "Phone number",
        permissions: { view: ["admin", "user"], edit: ["admin", "user"] },
        validations: { length: { min: "3", max: "32" } },
        annotations: { inputType: "html5-tel" },
      },
    ],
  },
  organizationsEnabled: true,
  organizations: [
    {
      name: "Acme",
      alias: "acme",
      description: "A customer",
      redirectUrl: "https://acme.example.com/",
      domains: [{ name: "acme.example.com", verified: true }],
      attributes: { tier: ["gold"] },
    },
  ],
  defaultGroups: ["/staff/readers", "/partners"],
};

describe("Given a real Keycloak and a realm spec setting events, localization, OTP, WebAuthn, headers, lifespans, default groups and attributes", () => {
  let conn: KeycloakConnection;
  const read = <T>(fn: Parameters<KeycloakConnection["call"]>[1]) =>
    conn.call({ method: "GET", what: "test read" }, fn) as Promise<T>;

  beforeAll(() => {
    conn = connect();
  });
  afterAll(async () => {
    await deleteRealm(conn, realmName, owner).catch(() => undefined);
    await conn.close();
  });

  it("When the realm is synced, Then Keycloak reads back every value", async () => {
    const result = await syncRealm(conn, desiredRealm(spec), owner);
    expect(result.created).toBe(true);

    const realm = await read<Record<string, unknown>>((kc) => kc.realms.findOne({ realm: realmName }));
    expect(realm).toMatchObject({
      displayNameHtml: "<b>Shop</b>",
      editUsernameAllowed: true,
      registrationEmailAsUsername: true,
      userManagedAccessAllowed: true,
      defaultSignatureAlgorithm: "ES256",
      bruteForceStrategy: "LINEAR",
      ssoSessionIdleTimeoutRememberMe: 3600,
      ssoSessionMaxLifespanRememberMe: 72000,
      clientSessionIdleTimeout: 900,
      clientSessionMaxLifespan: 7200,
      clientOfflineSessionIdleTimeout: 86400,
      clientOfflineSessionMaxLifespan: 172800,
      accessCodeLifespanLogin: 600,
      accessCodeLifespanUserAction: 120,
      actionTokenGeneratedByAdminLifespan: 86400,
      actionTokenGeneratedByUserLifespan: 600,
      otpPolicyType: "totp",
      otpPolicyAlgorithm: "HmacSHA256",
      otpPolicyDigits: 8,
      otpPolicyPeriod: 60,
      otpPolicyInitialCounter: 2,
      otpPolicyLookAheadWindow: 2,
      otpPolicyCodeReusable: false,
      webAuthnPolicyRpEntityName: "Shop",
      webAuthnPolicySignatureAlgorithms: ["ES256", "RS256"],
      webAuthnPolicyRpId: "shop.example.com",
      webAuthnPolicyAttestationConveyancePreference: "direct",
      webAuthnPolicyAuthenticatorAttachment: "cross-platform",
      webAuthnPolicyRequireResidentKey: "No",
      webAuthnPolicyUserVerificationRequirement: "preferred",
      webAuthnPolicyCreateTimeout: 60,
      webAuthnPolicyAvoidSameAuthenticatorRegister: true,
      webAuthnPolicyExtraOrigins: ["https://app.shop.example.com"],
      webAuthnPolicyPasswordlessRpEntityName: "Shop passkeys",
      webAuthnPolicyPasswordlessSignatureAlgorithms: ["ES256"],
      webAuthnPolicyPasswordlessRequireResidentKey: "Yes",
      webAuthnPolicyPasswordlessUserVerificationRequirement: "required",
      internationalizationEnabled: true,
      defaultLocale: "en",
    });
    expect([...(realm.supportedLocales as string[])].sort()).toEqual(["de", "en"]);
    const headers = realm.browserSecurityHeaders as Record<string, string>;
    expect(headers).toMatchObject({
      xFrameOptions: "DENY",
      contentSecurityPolicy: "frame-src 'self'; frame-ancestors 'none'; object-src 'none';",
      strictTransportSecurity: "max-age=63072000; includeSubDomains",
    });
    // The headers the spec leaves out keep Keycloak's defaults.
    expect(headers.xContentTypeOptions).toBe("nosniff");
    expect((realm.attributes as Record<string, string>)["team.example/cost-center"]).toBe("42");

    const events = await read<Record<string, unknown>>((kc) =>
      kc.realms.getConfigEvents({ realm: realmName }),
    );
    expect(events).toMatchObject({
      eventsEnabled: true,
      eventsExpiration: 2592000,
      eventsListeners: ["jboss-logging"],
      adminEventsEnabled: true,
      adminEventsDetailsEnabled: true,
    });
    expect([...(events.enabledEventTypes as string[])].sort()).toEqual(["LOGIN", "LOGIN_ERROR", "LOGOUT"]);

    const de = await read<Record<string, string>>((kc) =>
      kc.realms.getRealmLocalizationTexts({ realm: realmName, selectedLocale: "de" }),
    );
    expect(de).toEqual({ loginTitle: "Anmelden bei Shop", doLogIn: "Einloggen" });

    const defaults = await read<{ path?: string }[]>((kc) =>
      kc.realms.getDefaultGroups({ realm: realmName }),
    );
    expect(defaults.map((g) => g.path).sort()).toEqual(["/partners", "/staff/readers"]);

    const profile = await read<UserProfileConfig>((kc) => kc.users.getProfile({ realm: realmName }));
    expect(profile.unmanagedAttributePolicy).toBe("ADMIN_VIEW");
    expect(profile.attributes?.find((a) => a.name === "phoneNumber")).toMatchObject({
      displayName: "Phone number",
      validations: { length: { min: "3", max: "32" } },
      annotations: { inputType: "html5-tel", "kpo.dev/owner-uid": owner.uid },
    });
    // Keycloak's own attributes are still there.
    expect(profile.attributes?.map((a) => a.name)).toEqual(expect.arrayContaining(["username", "email"]));

    const [acme] = await read<OrganizationRepresentation[]>((kc) =>
      kc.organizations.find({ realm: realmName, search: "Acme", exact: true }),
    );
    expect(acme).toMatchObject({
      name: "Acme",
      alias: "acme",
      description: "A customer",
      redirectUrl: "https://acme.example.com/",
      domains: [{ name: "acme.example.com", verified: true }],
    });
    const full = await read<OrganizationRepresentation>((kc) =>
      kc.organizations.findOne({ realm: realmName, id: acme?.id ?? "" }),
    );
    expect(full.attributes?.tier).toEqual(["gold"]);
    expect(full.attributes?.["kpo.dev/owner-uid"]).toEqual([owner.uid]);
  });

  it("When the same spec is synced again, Then it makes zero writes", async () => {
    const before = conn.stats.writes;
    const result = await syncRealm(conn, desiredRealm(spec), owner);
    expect(result).toEqual({ created: false, writes: 0, changedFields: [] });
    expect(conn.stats.writes - before).toBe(0);
  });

  it("When events are disabled and a text is changed by hand, Then the next sync repairs both and only them", async () => {
    await conn.call({ method: "PUT", what: "test drift" }, (kc) =>
      kc.realms.updateConfigEvents(
        { realm: realmName },
        { eventsEnabled: false, adminEventsEnabled: false, adminEventsDetailsEnabled: false },
      ),
    );
    await conn.call({ method: "PUT", what: "test drift" }, (kc) =>
      kc.realms.addLocalization({ realm: realmName, selectedLocale: "de", key: "loginTitle" }, "Changed"),
    );
    // A text someone adds by hand is not the operator's to remove.
    await conn.call({ method: "PUT", what: "test setup" }, (kc) =>
      kc.realms.addLocalization({ realm: realmName, selectedLocale: "de", key: "handMade" }, "Hand"),
    );
    const result = await syncRealm(conn, desiredRealm(spec), owner);
    expect(result.changedFields.sort()).toEqual([
      "events.adminEventsDetailsEnabled",
      "events.adminEventsEnabled",
      "events.eventsEnabled",
      // The hand-made PUT sent no expiration, which Keycloak reads as 0 (keep forever).
      "events.eventsExpiration",
      "localization:de.loginTitle",
    ]);
    expect(result.writes).toBe(2);
    const events = await read<Record<string, unknown>>((kc) =>
      kc.realms.getConfigEvents({ realm: realmName }),
    );
    expect(events).toMatchObject({
      eventsEnabled: true,
      adminEventsEnabled: true,
      eventsExpiration: 2592000,
    });
    const de = await read<Record<string, string>>((kc) =>
      kc.realms.getRealmLocalizationTexts({ realm: realmName, selectedLocale: "de" }),
    );
    expect(de).toEqual({ loginTitle: "Anmelden bei Shop", doLogIn: "Einloggen", handMade: "Hand" });
  });

  it("When a text and a default group leave the spec, Then only the operator's text and link are removed", async () => {
    const smaller: KeycloakRealmSpec = {
      ...spec,
      localization: { ...spec.localization, texts: { de: { loginTitle: "Anmelden bei Shop" } } },
      defaultGroups: ["/partners"],
    };
    const result = await syncRealm(conn, desiredRealm(smaller), owner);
    expect(result.changedFields).toEqual(
      expect.arrayContaining([
        "localization:de.doLogIn",
        "localization:en.loginTitle",
        "defaultGroup:/staff/readers",
      ]),
    );
    const de = await read<Record<string, string>>((kc) =>
      kc.realms.getRealmLocalizationTexts({ realm: realmName, selectedLocale: "de" }),
    );
    expect(de).toEqual({ loginTitle: "Anmelden bei Shop", handMade: "Hand" });
    const en = await read<Record<string, string>>((kc) =>
      kc.realms.getRealmLocalizationTexts({ realm: realmName, selectedLocale: "en" }),
    );
    expect(en).toEqual({});
    const defaults = await read<{ path?: string }[]>((kc) =>
      kc.realms.getDefaultGroups({ realm: realmName }),
    );
    expect(defaults.map((g) => g.path)).toEqual(["/partners"]);
    expect(await syncRealm(conn, desiredRealm(smaller), owner)).toEqual({
      created: false,
      writes: 0,
      changedFields: [],
    });
  });

  it("When a default group is not a group of the spec, Then the sync refuses before writing anything", async () => {
    const before = conn.stats.writes;
    const bad: KeycloakRealmSpec = { ...spec, displayName: "Not written", defaultGroups: ["/nobody"] };
    await expect(syncRealm(conn, desiredRealm(bad), owner)).rejects.toThrow(MissingReferenceError);
    await expect(syncRealm(conn, desiredRealm(bad), owner)).rejects.toThrow(
      /"\/nobody", which is not a group of spec.groups/,
    );
    expect(conn.stats.writes - before).toBe(0);
    const realm = await read<{ displayName?: string }>((kc) => kc.realms.findOne({ realm: realmName }));
    expect(realm.displayName).toBeUndefined();
  });

  it("When an organization links an identity provider the realm lacks, Then the sync stops before changing any organization", async () => {
    const bad: KeycloakRealmSpec = {
      ...spec,
      defaultGroups: ["/partners"],
      localization: { ...spec.localization, texts: { de: { loginTitle: "Anmelden bei Shop" } } },
      organizations: [
        { name: "Acme", description: "Not written", identityProviders: ["no-such-idp"] },
        { name: "Beta", domains: [{ name: "beta.example.com" }] },
      ],
    };
    await expect(syncRealm(conn, desiredRealm(bad), owner)).rejects.toThrow(
      /identity providers that do not exist in realm .*"no-such-idp" \(organization "Acme"\)/,
    );
    const orgs = await read<OrganizationRepresentation[]>((kc) =>
      kc.organizations.find({ realm: realmName }),
    );
    expect(orgs.map((o) => [o.name, o.description])).toEqual([["Acme", "A customer"]]);
  });
});
