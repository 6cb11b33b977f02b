import { describe, expect, it } from "vitest";
import type { KeycloakUserSpec } from "../api/index.js";
import { noSecrets, userSecretReferences } from "./secretReferences.js";
import { desiredUser } from "./userRepresentation.js";

const spec = (extra: Partial<KeycloakUserSpec> = {}): KeycloakUserSpec => ({
  realmRef: { name: "apps" },
  username: "bot",
  ...extra,
});

describe("desiredUser", () => {
  it("Given only a username, when mapped, then nothing else is managed", () => {
    expect(desiredUser(spec(), noSecrets)).toEqual({ user: { username: "bot" } });
  });

  it("Given fields, groups and roles, when mapped, then each lands in its part of the desired user", () => {
    const desired = desiredUser(
      spec({
        email: "bot@example.com",
        enabled: false,
        attributes: { team: ["a"] },
        requiredActions: ["VERIFY_EMAIL"],
        groups: ["/staff"],
        clientRoles: { app: ["reader"] },
        federatedIdentities: [{ identityProvider: "gh", userId: "1", userName: "bot" }],
      }),
      noSecrets,
    );
    expect(desired).toEqual({
      user: {
        username: "bot",
        email: "bot@example.com",
        enabled: false,
        attributes: { team: ["a"] },
        requiredActions: ["VERIFY_EMAIL"],
      },
      groups: ["/staff"],
      roles: { client: { app: ["reader"] } },
      federatedIdentities: [{ identityProvider: "gh", userId: "1", userName: "bot" }],
    });
  });

  it("Given an initial password reference, when its Secret was resolved, then the password is desired with its temporary flag", () => {
    const withRef = spec({ initialPasswordSecretRef: { name: "pw" }, initialPasswordTemporary: true });
    const [ref] = userSecretReferences(withRef);
    expect(ref).toEqual({ field: "spec.initialPasswordSecretRef", name: "pw", key: "password" });
    const secrets = new Map([["spec.initialPasswordSecretRef", "s3cret"]]);
    expect(desiredUser(withRef, secrets).initialPassword).toEqual({ value: "s3cret", temporary: true });
  });

  it("Given an initial password reference that was not resolved (already set), when mapped, then no password is desired", () => {
    const withRef = spec({ initialPasswordSecretRef: { name: "pw" } });
    expect(desiredUser(withRef, noSecrets).initialPassword).toBeUndefined();
  });
});
