import { describe, expect, it } from "vitest";
import { deepMerge, parseDataOverride } from "./dataOverride.js";

describe("deepMerge", () => {
  it("Given nested objects, when merged, then keys merge recursively and the inputs are untouched", () => {
    const base = { kpo: { quota: { defaults: { a: 1, b: 2 } }, enforcement: { quota: "enforce" } } };
    const override = { kpo: { quota: { defaults: { b: 3 } } } };
    expect(deepMerge(base, override)).toEqual({
      kpo: { quota: { defaults: { a: 1, b: 3 } }, enforcement: { quota: "enforce" } },
    });
    expect(base.kpo.quota.defaults.b).toBe(2);
  });

  it("Given a list or scalar in the override, when merged, then it replaces the base value", () => {
    expect(deepMerge({ a: [1, 2, 3], b: { c: 1 } }, { a: [9], b: null })).toEqual({ a: [9], b: null });
  });
});

describe("parseDataOverride", () => {
  it("Given YAML or JSON, when parsed, then the same document comes back", () => {
    expect(parseDataOverride("kpo:\n  enforcement:\n    quota: warn\n", "f.yaml")).toEqual({
      kpo: { enforcement: { quota: "warn" } },
    });
    expect(parseDataOverride('{"kpo": {"x": 1}}', "f.json")).toEqual({ kpo: { x: 1 } });
  });

  it("Given an empty file, when parsed, then it overrides nothing", () => {
    expect(parseDataOverride("", "f.yaml")).toEqual({});
  });

  it("Given a list or broken syntax, when parsed, then the error names the file and the fix", () => {
    expect(() => parseDataOverride("- a\n- b\n", "/etc/kpo/override.yaml")).toThrow(
      /\/etc\/kpo\/override\.yaml must hold an object.*not a list/,
    );
    expect(() => parseDataOverride("kpo: [x\n", "o.yaml")).toThrow(
      /o\.yaml is not valid JSON or YAML[\s\S]*Fix the syntax/,
    );
  });
});
