import { describe, expect, it } from "vitest";
import { requiredActionChanges } from "./requiredActions.js";

const registered = {
  alias: "CONFIGURE_TOTP",
  name: "Configure OTP",
  providerId: "CONFIGURE_TOTP",
  enabled: true,
  defaultAction: false,
  priority: 10,
  config: {},
};

describe("requiredActionChanges", () => {
  it("Given only the alias, Then nothing is managed and nothing differs", () => {
    expect(requiredActionChanges({ alias: "CONFIGURE_TOTP" }, registered)).toEqual([]);
  });

  it("Given fields that match Keycloak, Then nothing differs", () => {
    expect(
      requiredActionChanges(
        { alias: "CONFIGURE_TOTP", enabled: true, defaultAction: false, priority: 10, config: {} },
        registered,
      ),
    ).toEqual([]);
  });

  it("Given a disabled action, another priority and a config, Then exactly those fields differ", () => {
    expect(
      requiredActionChanges(
        { alias: "CONFIGURE_TOTP", enabled: true, priority: 5, config: { a: "b" } },
        {
          ...registered,
          enabled: false,
        },
      ),
    ).toEqual(["enabled", "priority", "config"]);
  });

  it("Given a config with a key Keycloak has and the spec dropped, Then the config differs (managed as a whole)", () => {
    expect(
      requiredActionChanges(
        { alias: "CONFIGURE_TOTP", config: { a: "b" } },
        { ...registered, config: { a: "b", c: "d" } },
      ),
    ).toEqual(["config"]);
  });
});
