import { describe, expect, it } from "vitest";
import { KeycloakApiError } from "./errors.js";

const ctx = { instance: "ns/kc", method: "PUT", what: 'update realm "a"' };

describe("KeycloakApiError", () => {
  it("Given a 409, Then the message names the instance, the operation and what to do", () => {
    const err = new KeycloakApiError(409, ctx, "Conflict detected. See logs for details");
    expect(err.message).toContain("ns/kc");
    expect(err.message).toContain('update realm "a"');
    expect(err.message).toContain("409");
    expect(err.message).toMatch(/rename|remove/);
  });

  it("Given a very long Keycloak error text, Then the message is cut short", () => {
    const err = new KeycloakApiError(400, ctx, "x".repeat(5000));
    expect(err.message.length).toBeLessThan(400);
  });
});
