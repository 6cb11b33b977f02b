import { describe, expect, it } from "vitest";
import { decisionShapeError, isDecision } from "./decisionShape.js";

const violation = { policy: "quota", code: "X", message: "m", enforcement: "enforce" };

describe("decisionShapeError", () => {
  it("Given well-formed decisions, when checked, then they pass", () => {
    expect(isDecision({ allowed: true, violations: [], warnings: [] })).toBe(true);
    expect(isDecision({ allowed: false, violations: [violation], warnings: [] })).toBe(true);
    expect(
      isDecision({ allowed: true, violations: [{ ...violation, enforcement: "warn" }], warnings: ["m"] }),
    ).toBe(true);
  });

  it("Given malformed results, when checked, then the reason names the faulty field", () => {
    expect(decisionShapeError(undefined)).toMatch(/not an object/);
    expect(decisionShapeError({ allowed: "yes", violations: [], warnings: [] })).toMatch(
      /allowed is not a boolean/,
    );
    expect(decisionShapeError({ allowed: true, violations: {}, warnings: [] })).toMatch(
      /violations is not an array/,
    );
    expect(
      decisionShapeError({ allowed: true, violations: [{ ...violation, enforcement: "off" }], warnings: [] }),
    ).toMatch(/violations\[0\]/);
    expect(decisionShapeError({ allowed: true, violations: [], warnings: [1] })).toMatch(
      /warnings is not an array of strings/,
    );
  });

  it("Given allowed that contradicts the enforced violations, when checked, then it is refused", () => {
    expect(decisionShapeError({ allowed: true, violations: [violation], warnings: [] })).toMatch(
      /contradicts/,
    );
    expect(decisionShapeError({ allowed: false, violations: [], warnings: [] })).toMatch(/contradicts/);
  });
});
