import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec } from "../api/index.js";
import { checkDefaultGroups } from "../keycloak/defaultGroups.js";
import { groupPaths } from "../keycloak/groupPaths.js";
import { MissingReferenceError } from "../keycloak/errors.js";
import { eventsConfigChanges } from "../keycloak/events.js";
import { desiredRealm } from "./realmRepresentation.js";
import { eventsConfig, localizationTexts, withWholeOtpPolicy } from "./realmSettingGroups.js";

const minimal: KeycloakRealmSpec = { instanceRef: { name: "main" }, realmName: "apps" };

describe("grouped realm settings", () => {
  it("Given OTP, WebAuthn, headers, lifespans and localization, when mapped, then each lands on Keycloak's flat field", () => {
    const realm = desiredRealm({
      ...minimal,
      displayNameHtml: "<b>Apps</b>",
      defaultSignatureAlgorithm: "ES256",
      bruteForceProtection: { strategy: "LINEAR" },
      attributes: { "team/x": "1" },
      otpPolicy: { type: "hotp", digits: 8, periodSeconds: 30, initialCounter: 3 },
      webAuthnPolicy: { rpEntityName: "Apps", createTimeoutSeconds: 30, extraOrigins: ["https://a"] },
      webAuthnPasswordlessPolicy: { requireResidentKey: "Yes" },
      securityHeaders: { xFrameOptions: "DENY" },
      tokens: { clientSessionIdleTimeoutSeconds: 600 },
      localization: {
        internationalizationEnabled: true,
        supportedLocales: ["en", "de"],
        defaultLocale: "en",
      },
    }).realm;
    expect(realm).toEqual({
      realm: "apps",
      displayNameHtml: "<b>Apps</b>",
      defaultSignatureAlgorithm: "ES256",
      bruteForceStrategy: "LINEAR",
      attributes: { "team/x": "1" },
      otpPolicyType: "hotp",
      otpPolicyDigits: 8,
      otpPolicyPeriod: 30,
      otpPolicyInitialCounter: 3,
      webAuthnPolicyRpEntityName: "Apps",
      webAuthnPolicyCreateTimeout: 30,
      webAuthnPolicyExtraOrigins: ["https://a"],
      webAuthnPolicyPasswordlessRequireResidentKey: "Yes",
      browserSecurityHeaders: { xFrameOptions: "DENY" },
      clientSessionIdleTimeout: 600,
      internationalizationEnabled: true,
      supportedLocales: ["en", "de"],
      defaultLocale: "en",
    });
  });

  it("Given empty groups of settings, when mapped, then nothing is managed", () => {
    const spec = { ...minimal, otpPolicy: {}, securityHeaders: {}, events: {}, localization: {} };
    expect(desiredRealm(spec)).toEqual({ realm: { realm: "apps" } });
  });

  it("Given events and texts, when mapped, then they are the events configuration and the per-locale texts", () => {
    const spec: KeycloakRealmSpec = {
      ...minimal,
      events: {
        enabled: true,
        expirationSeconds: 60,
        listeners: ["jboss-logging"],
        adminEventsEnabled: false,
      },
      localization: { texts: { de: { loginTitle: "Anmelden" } } },
      defaultGroups: ["/a"],
    };
    expect(eventsConfig(spec)).toEqual({
      eventsEnabled: true,
      eventsExpiration: 60,
      eventsListeners: ["jboss-logging"],
      adminEventsEnabled: false,
    });
    expect(localizationTexts(spec)).toEqual({ de: { loginTitle: "Anmelden" } });
    expect(desiredRealm(spec).defaultGroups).toEqual(["/a"]);
  });
});

describe("events configuration diff", () => {
  it("Given Keycloak's configuration, when only unmanaged fields differ, then nothing changes", () => {
    const actual = {
      eventsEnabled: true,
      eventsListeners: ["jboss-logging", "email"],
      enabledEventTypes: ["LOGIN"],
    };
    expect(eventsConfigChanges({ eventsEnabled: true }, actual)).toEqual([]);
    expect(eventsConfigChanges({ eventsListeners: ["email", "jboss-logging"] }, actual)).toEqual([]);
  });

  it("Given Keycloak leaving out an expiration of 0 and false flags, when 0 and false are desired, then nothing changes", () => {
    expect(eventsConfigChanges({ eventsExpiration: 0, adminEventsEnabled: false }, {})).toEqual([]);
  });

  it("Given a differing flag and list, when compared, then both are named", () => {
    expect(
      eventsConfigChanges(
        { eventsEnabled: true, eventsListeners: ["a"] },
        { eventsEnabled: false, eventsListeners: [] },
      ),
    ).toEqual(["events.eventsEnabled", "events.eventsListeners"]);
  });
});

describe("default groups", () => {
  const groups = [{ name: "a", subGroups: [{ name: "b", subGroups: [{ name: "c" }] }] }, { name: "d" }];

  it("Given nested groups, when their paths are listed, then every level is there", () => {
    expect(groupPaths(groups)).toEqual(["/a", "/a/b", "/a/b/c", "/d"]);
  });

  it("Given a default group the spec does not define, when checked, then a MissingReferenceError names it and the fix", () => {
    expect(() => checkDefaultGroups("apps", ["/a/b/c", "/d"], groups)).not.toThrow();
    expect(() => checkDefaultGroups("apps", ["/a/x"], groups)).toThrow(MissingReferenceError);
    expect(() => checkDefaultGroups("apps", ["/a/x"], undefined)).toThrow(
      /names "\/a\/x", which is not a group of spec.groups; add it to spec.groups/,
    );
  });
});

describe("the OTP policy, sent whole", () => {
  it("Given a spec that sets only the algorithm, when sent to a new realm, then the type and the other fields are a new realm's", () => {
    expect(withWholeOtpPolicy({ realm: "r", otpPolicyAlgorithm: "HmacSHA256" })).toEqual({
      realm: "r",
      otpPolicyType: "totp",
      otpPolicyAlgorithm: "HmacSHA256",
      otpPolicyDigits: 6,
      otpPolicyPeriod: 30,
      otpPolicyInitialCounter: 0,
      otpPolicyLookAheadWindow: 1,
      otpPolicyCodeReusable: false,
    });
  });

  it("Given an update of one OTP field, when made whole, then the other fields are the realm's current ones", () => {
    const current = {
      otpPolicyType: "hotp",
      otpPolicyAlgorithm: "HmacSHA512",
      otpPolicyDigits: 8,
      otpPolicyPeriod: 60,
      otpPolicyInitialCounter: 5,
      otpPolicyLookAheadWindow: 3,
      otpPolicyCodeReusable: true,
    };
    expect(withWholeOtpPolicy({ otpPolicyDigits: 6 }, current)).toEqual({ ...current, otpPolicyDigits: 6 });
  });

  it("Given an update without OTP fields, when made whole, then it is unchanged", () => {
    expect(withWholeOtpPolicy({ displayName: "x" }, {})).toEqual({ displayName: "x" });
  });
});
