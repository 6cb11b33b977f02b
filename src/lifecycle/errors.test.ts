// The one error policy: every way a failure is classified, Keycloak's errors and the lifecycle's own.
import { describe, expect, it } from "vitest";
import {
  CircuitOpenError,
  KeycloakApiError,
  KeycloakUnreachableError,
  MissingReferenceError,
  OwnershipError,
  networkReasonOf,
} from "../keycloak/errors.js";
import { PermanentError, PolicyDeniedError, TransientError, classifyError, isTransient } from "./errors.js";

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
    // The realm is not there (yet): its KeycloakRealm creates it, so the client or user retries.
    expect(isTransient(new KeycloakApiError(404, ctx, '{"error":"Realm not found."}'))).toBe(true);
    expect(isTransient(new KeycloakApiError(404, ctx, '{"error":"Could not find client"}'))).toBe(false);
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

describe("classifyError", () => {
  it("Given the lifecycle's own errors, Then their class is what they say, wherever they were thrown", () => {
    for (const unrecognised of ["transient", "permanent"] as const) {
      expect(classifyError(new TransientError("x"), unrecognised)).toBe("transient");
      expect(classifyError(new PermanentError("x"), unrecognised)).toBe("permanent");
      expect(
        classifyError(new PolicyDeniedError({ allowed: false, violations: [], warnings: [] }), unrecognised),
      ).toBe("permanent");
    }
    expect(isTransient(new TransientError("x"))).toBe(true);
    expect(isTransient(new PermanentError("x"))).toBe(false);
  });

  it("Given an error nothing recognises, Then it is transient from a side effect and permanent from a Keycloak call", () => {
    for (const err of [new RangeError("bug"), "string", undefined]) {
      expect(classifyError(err)).toBe("transient");
      expect(isTransient(err)).toBe(false);
    }
  });

  it("Given Keycloak's errors, Then a side effect and a Keycloak call classify them alike", () => {
    const create = { ...ctx, method: "POST", creates: true };
    const errors = [
      new KeycloakApiError(503, ctx, ""),
      new KeycloakApiError(404, ctx, ""),
      new KeycloakApiError(409, create, ""),
      new KeycloakApiError(409, ctx, ""),
      networkError(429),
      networkError(400),
      new CircuitOpenError("ns/kc", 0),
      new KeycloakUnreachableError(ctx, "ECONNRESET"),
      new OwnershipError("x"),
      new MissingReferenceError("x"),
    ];
    expect(errors.map((e) => classifyError(e))).toEqual(
      errors.map((e) => (isTransient(e) ? "transient" : "permanent")),
    );
    expect(errors.map((e) => classifyError(e))).toEqual([
      "transient",
      "permanent",
      "transient",
      "permanent",
      "transient",
      "permanent",
      "transient",
      "transient",
      "permanent",
      "permanent",
    ]);
  });
});
