import { describe, expect, it } from "vitest";
import { compileRule, compileRules, RuleError, type RuleContract } from "./rules.js";

const DELAY: RuleContract = {
  variables: ["attempts", "random"],
  result: "number",
  samples: [
    { attempts: 1, random: 0 },
    { attempts: 30, random: 0.999 },
  ],
};
const EXHAUSTED: RuleContract = { variables: ["attempts"], result: "boolean", samples: [{ attempts: 0 }] };

const backoff = {
  logic: {
    "*": [
      { min: [300000, { "*": [5000, { pow: [2, { max: [0, { "-": [{ var: "attempts" }, 1] }] }] }] }] },
      { "+": [0.5, { "*": [0.5, { var: "random" }] }] },
    ],
  },
};

describe("compileRule", () => {
  it("Given an exponential backoff rule, When evaluated, Then the delay doubles per attempt up to the cap", () => {
    const rule = compileRule("retryDelayMs", backoff, DELAY, "machines/realm.json $.rules.retryDelayMs");
    const delays = [1, 2, 3, 4, 10].map((attempts) =>
      rule.evaluate({ attempts, random: 1 - Number.EPSILON }),
    );
    expect(delays.map((d) => Math.round(d as number))).toEqual([5000, 10000, 20000, 40000, 300000]);
  });

  it("Given the jitter input, When evaluated, Then the delay stays within [half, full) of the backoff and is deterministic", () => {
    const rule = compileRule("retryDelayMs", backoff, DELAY, "f");
    expect(rule.evaluate({ attempts: 3, random: 0 })).toBe(10000);
    expect(rule.evaluate({ attempts: 3, random: 0.5 })).toBe(15000);
    expect(rule.evaluate({ attempts: 3, random: 0.5 })).toBe(15000);
    expect(rule.evaluate({ attempts: 3, random: 0.999 })).toBeLessThan(20000);
  });

  it("Given an unknown operator, When compiled, Then the error names the file, the rule path and the operator", () => {
    const bad = { logic: { "*": [1000, { exp: [2, { var: "attempts" }] }] } };
    expect(() => compileRule("retryDelayMs", bad, DELAY, "machines/realm.json $.rules.retryDelayMs")).toThrow(
      'machines/realm.json $.rules.retryDelayMs: logic.*[1] uses unknown operator "exp"',
    );
  });

  it("Given a variable the caller does not supply, When compiled, Then the error names it and lists the available ones", () => {
    const bad = { logic: { ">=": [{ var: "failures" }, 5] } };
    expect(() =>
      compileRule("retriesExhausted", bad, EXHAUSTED, "machines/client.json $.rules.retriesExhausted"),
    ).toThrow(
      /machines\/client\.json \$\.rules\.retriesExhausted: logic\.>=\[0\] reads variable "failures".*Available variables: attempts/,
    );
  });

  it("Given a rule returning the wrong type, When compiled, Then it is refused before it is ever used", () => {
    expect(() =>
      compileRule("retriesExhausted", { logic: { "+": [{ var: "attempts" }, 1] } }, EXHAUSTED, "f"),
    ).toThrow(/must return true or false/);
    expect(() => compileRule("retryDelayMs", { logic: { "-": [0, 1000] } }, DELAY, "f")).toThrow(
      /finite number >= 0/,
    );
  });

  it("Given side-effecting or scoped operators, When compiled, Then they are refused", () => {
    expect(() => compileRule("r", { logic: { log: 1 } }, DELAY, "f")).toThrow(/unknown operator "log"/);
    expect(() => compileRule("r", { logic: { map: [[1], { var: "" }] } }, DELAY, "f")).toThrow(
      /unknown operator "map"/,
    );
  });
});

describe("compileRules", () => {
  const contracts = { retryDelayMs: DELAY, retriesExhausted: EXHAUSTED };

  it("Given every required rule, When compiled, Then each evaluates", () => {
    const rules = compileRules(
      { retryDelayMs: backoff, retriesExhausted: { logic: { ">=": [{ var: "attempts" }, 6] } } },
      contracts,
      "machines/realm.json",
    );
    expect(rules.retriesExhausted?.evaluate({ attempts: 6 })).toBe(true);
    expect(rules.retriesExhausted?.evaluate({ attempts: 5 })).toBe(false);
  });

  it("Given a missing or an unknown rule, When compiled, Then the error names the file and the rule", () => {
    expect(() => compileRules({ retryDelayMs: backoff }, contracts, "machines/realm.json")).toThrow(
      "machines/realm.json: $.rules.retriesExhausted is missing",
    );
    expect(() =>
      compileRules(
        { retryDelayMs: backoff, retriesExhausted: { logic: true }, retryDelay: backoff },
        contracts,
        "machines/realm.json",
      ),
    ).toThrow(RuleError);
  });
});
