import { describe, expect, it } from "vitest";
import {
  CircuitOpenError,
  KeycloakApiError,
  KeycloakUnreachableError,
  MissingReferenceError,
  OwnershipError,
  isTransient,
  networkReasonOf,
} from "./errors.js";

const ctx = { instance: "ns/kc", method: "PUT", what: 'update realm "a"' };

function networkError(status: number): Error {
  // The admin client's NetworkError shape: a response with a status.
  return Object.assign(new Error("Network response was not OK."), { response: { status }, responseData: {} });
}

describe("isTransient", () => {
  it.each([500, 502, 503, 504, 429, 408])(
    "Given Keycloak answered %i, Then a retry may succeed",
    (status) => {
      expect(isTransient(new KeycloakApiError(status, ctx, ""))).toBe(true);
      expect(isTransient(networkError(status))).toBe(true);
    },
  );

  it.each([400, 401, 403, 404, 409, 422])(
    "Given Keycloak answered %i, Then a retry cannot fix it",
    (status) => {
      expect(isTransient(new KeycloakApiError(status, ctx, ""))).toBe(false);
      expect(isTransient(networkError(status))).toBe(false);
    },
  );

  it("Given a create answered 409, Then a retry re-reads the object and can proceed", () => {
    const create = { instance: "ns/kc", method: "POST", what: 'create realm "a"', creates: true };
    expect(isTransient(new KeycloakApiError(409, create, "Duplicate resource error"))).toBe(true);
    expect(isTransient(new KeycloakApiError(409, ctx, "Conflict"))).toBe(false);
    // A POST that is not a create (a role mapping, a secret regeneration) keeps its 409 permanent.
    const grant = { instance: "ns/kc", method: "POST", what: "grant realm roles" };
    expect(isTransient(new KeycloakApiError(409, grant, "Conflict"))).toBe(false);
  });

  it("Given a connection refused from fetch, Then it is transient", () => {
    const err = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    expect(networkReasonOf(err)).toBe("ECONNREFUSED");
    expect(isTransient(err)).toBe(true);
  });

  it("Given an AbortSignal timeout, Then it is transient", () => {
    const err = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(networkReasonOf(err)).toBe("request timed out");
    expect(isTransient(err)).toBe(true);
  });

  it("Given an open circuit or an unreachable Keycloak, Then it is transient", () => {
    expect(isTransient(new CircuitOpenError("ns/kc", 0))).toBe(true);
    expect(isTransient(new KeycloakUnreachableError(ctx, "ECONNRESET"))).toBe(true);
  });

  it("Given an ownership refusal, a missing reference or a programming error, Then it is permanent", () => {
    expect(isTransient(new OwnershipError("x"))).toBe(false);
    expect(isTransient(new MissingReferenceError("x"))).toBe(false);
    expect(isTransient(new RangeError("bug"))).toBe(false);
    expect(isTransient("string")).toBe(false);
  });
});

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
