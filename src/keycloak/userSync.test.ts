import { describe, expect, it } from "vitest";
import { isReservedUser } from "./userSync.js";

describe("isReservedUser", () => {
  it("Given any user of the master realm, then it is Keycloak's own", () => {
    expect(isReservedUser("alice", "master")).toBe(true);
    expect(isReservedUser("alice", "Master")).toBe(true);
  });

  it("Given a client's service-account user in any realm, then it is Keycloak's own", () => {
    expect(isReservedUser("service-account-web", "apps")).toBe(true);
    expect(isReservedUser("Service-Account-web", "apps")).toBe(true);
  });

  it("Given an ordinary user of an ordinary realm, then a KeycloakUser may manage it", () => {
    expect(isReservedUser("alice", "apps")).toBe(false);
    expect(isReservedUser("service-accountant", "apps")).toBe(false);
  });
});
