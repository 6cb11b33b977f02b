import { describe, expect, it } from "vitest";
import {
  exitCodeOf,
  formatJson,
  formatText,
  maskSecrets,
  splitWrites,
  type ObjectDiff,
} from "./diffReport.js";

const base = { kind: "KeycloakRealm", namespace: "team-a", name: "shop", target: 'realm "shop"' };

describe("kpo diff report", () => {
  it("Given a settings update and item writes, when printed, then settings read field: old → new and items carry their sign", () => {
    const diff: ObjectDiff = {
      ...base,
      action: "update",
      ...splitWrites([
        {
          method: "PUT",
          field: "displayName",
          what: 'update realm "shop" (displayName, attributes.frontendUrl)',
          creates: false,
          changes: [
            { field: "displayName", old: "Shop", new: "Shop EU" },
            { field: "attributes.frontendUrl", new: "https://shop.example.com" },
          ],
        },
        {
          method: "POST",
          field: "role:auditor",
          what: 'create role "auditor" in realm "shop"',
          creates: true,
        },
        {
          method: "DELETE",
          field: "role:legacy",
          what: 'delete role "legacy" in realm "shop" (no longer in the spec)',
          creates: false,
        },
      ]),
    };
    expect(formatText([diff])).toBe(
      [
        'KeycloakRealm team-a/shop (realm "shop"): update',
        '  displayName: "Shop" → "Shop EU"',
        '  attributes.frontendUrl: (unset) → "https://shop.example.com"',
        '  + role:auditor: create role "auditor" in realm "shop"',
        '  - role:legacy: delete role "legacy" in realm "shop" (no longer in the spec)',
        "0 to create, 1 to update, 0 unchanged",
        "",
      ].join("\n"),
    );
    expect(exitCodeOf([diff])).toBe(1);
  });

  it("Given secret changes and secret values, when printed as text or JSON, then no value appears and the change says (secret changed)", () => {
    const diff: ObjectDiff = {
      ...base,
      action: "update",
      ...splitWrites([
        {
          method: "PUT",
          field: "smtpServer",
          what: 'update realm "shop" (smtpServer)',
          creates: false,
          changes: [
            { field: "smtpServer.host", old: "a.example.com", new: "b.example.com" },
            { field: "smtpServer.password", secret: true, old: "old-pw-1", new: "new-pw-2" },
          ],
        },
        {
          method: "PUT",
          field: "identityProvider:corp",
          what: 'update identity provider "corp" in realm "shop"',
          creates: false,
          changes: [
            { field: "config.clientSecret", secret: true },
            {
              field: "config",
              old: { clientSecret: "old-idp-3" },
              new: { clientSecret: "new-idp-4", a: "b" },
            },
          ],
        },
      ]),
    };
    const text = formatText([diff]);
    const json = formatJson([diff]);
    for (const out of [text, json])
      for (const secret of ["old-pw-1", "new-pw-2", "old-idp-3", "new-idp-4"])
        expect(out).not.toContain(secret);
    expect(text).toContain("  smtpServer.password: (secret changed)");
    expect(text).toContain("      config.clientSecret: (secret changed)");
    expect(text).toContain('      config.a: (unset) → "b"');
  });

  it("Given a create, when printed, then the desired fields are listed with secrets masked", () => {
    const diff: ObjectDiff = {
      ...base,
      action: "create",
      fields: [
        { field: "realm", new: "shop" },
        { field: "smtpServer", new: { host: "smtp", password: "pw-5" } },
        {
          field: "identityProviders",
          new: { providers: [{ rep: { alias: "corp" }, clientSecret: "idp-6" }] },
        },
        { field: "initialPassword", new: { value: "pw-7", temporary: true } },
      ],
      changes: [],
    };
    const text = formatText([diff]);
    for (const secret of ["pw-5", "idp-6", "pw-7"]) {
      expect(text).not.toContain(secret);
      expect(formatJson([diff])).not.toContain(secret);
    }
    expect(text).toContain('  smtpServer: {"host":"smtp","password":"***"}');
    expect(exitCodeOf([diff])).toBe(1);
  });

  it("Given unchanged objects and a failure, when summarised, then unchanged print nothing and the failure decides exit code 2", () => {
    const unchanged: ObjectDiff = { ...base, action: "unchanged", fields: [], changes: [] };
    expect(formatText([unchanged])).toBe("0 to create, 0 to update, 1 unchanged\n");
    expect(exitCodeOf([unchanged])).toBe(0);
    const failed: ObjectDiff = { ...unchanged, name: "other", action: "error", error: "boom" };
    expect(formatText([unchanged, failed])).toContain("  error: boom");
    expect(exitCodeOf([unchanged, failed])).toBe(2);
  });

  it("Given a config value key, when masked, then only a credential's value is hidden", () => {
    expect(maskSecrets({ config: { value: "x" }, cred: { type: "password", value: "y" } })).toEqual({
      config: { value: "x" },
      cred: { type: "password", value: "***" },
    });
  });

  it("Given a policy decision, when printed, then the verdict and each violation's message follow the object", () => {
    const diff: ObjectDiff = {
      ...base,
      action: "unchanged",
      fields: [],
      changes: [],
      policy: {
        operation: "update",
        decision: {
          allowed: false,
          violations: [
            { policy: "authorization", code: "no-grant", message: "not granted", enforcement: "enforce" },
          ],
          warnings: [],
        },
      },
    };
    expect(formatText([diff])).toContain(
      'KeycloakRealm team-a/shop (realm "shop"): unchanged\n  policy (update): DENIED\n    deny authorization/no-grant: not granted\n',
    );
  });
});
