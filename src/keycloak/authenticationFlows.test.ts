import { describe, expect, it } from "vitest";
import type { DesiredFlow } from "../resources/authenticationFlowRepresentation.js";
import {
  adjacentSwaps,
  executionTree,
  flowRecord,
  needsRebuild,
  occurrenceKeys,
  recordedFlows,
} from "./authenticationFlows.js";

const owner = { uid: "uid-1", namespace: "ns", name: "sso" };

/** Applies raise-priority moves to an order, as Keycloak would. */
function applyMoves(order: string[], moves: string[]): string[] {
  const out = [...order];
  for (const key of moves) {
    const at = out.indexOf(key);
    expect(at).toBeGreaterThan(0);
    [out[at - 1], out[at]] = [out[at] ?? "", out[at - 1] ?? ""];
  }
  return out;
}

function inversions(current: string[], desired: string[]): number {
  let n = 0;
  for (let i = 0; i < current.length; i++)
    for (let j = i + 1; j < current.length; j++)
      if (desired.indexOf(current[i] ?? "") > desired.indexOf(current[j] ?? "")) n++;
  return n;
}

describe("adjacentSwaps", () => {
  it("Given a level already in order, Then no move is made", () => {
    expect(adjacentSwaps(["a", "b", "c"], ["a", "b", "c"])).toEqual([]);
  });

  it("Given one item appended last that belongs first, Then it is raised once per place", () => {
    expect(adjacentSwaps(["b", "c", "a"], ["a", "b", "c"])).toEqual(["a", "a"]);
  });

  it("Given every permutation of four items, Then the moves reach the order with exactly as many moves as inversions", () => {
    const items = ["a", "b", "c", "d"];
    const permutations = (xs: string[]): string[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    for (const current of permutations(items)) {
      const moves = adjacentSwaps(current, items);
      expect(applyMoves(current, moves)).toEqual(items);
      expect(moves).toHaveLength(inversions(current, items));
    }
  });
});

describe("executionTree", () => {
  it("Given Keycloak's depth-first list with levels, Then sub-flows hold their own executions", () => {
    const tree = executionTree([
      { id: "1", providerId: "auth-cookie", level: 0 },
      { id: "2", authenticationFlow: true, displayName: "forms", level: 0 },
      { id: "3", providerId: "auth-username-password-form", level: 1 },
      { id: "4", authenticationFlow: true, displayName: "otp", level: 1 },
      { id: "5", providerId: "auth-otp-form", level: 2 },
      { id: "6", providerId: "after", level: 1 },
      { id: "7", providerId: "last", level: 0 },
    ]);
    const ids = (nodes: typeof tree): unknown[] =>
      nodes.map((n) => (n.children.length ? [n.info.id, ids(n.children)] : n.info.id));
    expect(ids(tree)).toEqual(["1", ["2", ["3", ["4", ["5"]], "6"]], "7"]);
  });
});

describe("occurrenceKeys", () => {
  it("Given a repeated authenticator, Then each repeat is numbered from the second on", () => {
    expect(occurrenceKeys(["a", "b", "a", "a"])).toEqual(["a", "b", "a#2", "a#3"]);
  });
});

describe("needsRebuild", () => {
  const flow: DesiredFlow = {
    alias: "top",
    providerId: "basic-flow",
    executions: [
      {
        kind: "flow",
        requirement: "ALTERNATIVE",
        flow: {
          alias: "forms",
          providerId: "basic-flow",
          executions: [
            {
              kind: "flow",
              requirement: "CONDITIONAL",
              flow: { alias: "otp", providerId: "basic-flow", executions: [] },
            },
          ],
        },
      },
    ],
  };

  it("Given sub-flows where the spec has them, Then the flow is patched in place", () => {
    const roots = executionTree([
      { id: "1", authenticationFlow: true, displayName: "forms", providerId: "basic-flow", level: 0 },
      { id: "2", authenticationFlow: true, displayName: "otp", providerId: "basic-flow", level: 1 },
    ]);
    expect(needsRebuild(flow, roots)).toBe(false);
  });

  it("Given a sub-flow under another parent or of another kind, Then the flow is rebuilt", () => {
    const moved = executionTree([
      { id: "1", authenticationFlow: true, displayName: "forms", level: 0 },
      { id: "2", authenticationFlow: true, displayName: "otp", level: 0 },
    ]);
    expect(needsRebuild(flow, moved)).toBe(true);
    const otherKind = executionTree([
      { id: "1", authenticationFlow: true, displayName: "forms", providerId: "form-flow", level: 0 },
    ]);
    expect(needsRebuild(flow, otherKind)).toBe(true);
  });
});

describe("the record of owned flows", () => {
  it("Given a record written by this CR, Then its flows are this CR's; written by another uid or garbled, none are", () => {
    const attributes = { "kpo.dev/authentication-flows": flowRecord(owner, ["b", "a", "a"]) };
    expect(attributes["kpo.dev/authentication-flows"]).toBe('{"owner":"uid-1","flows":["a","b"]}');
    expect(recordedFlows(attributes, owner)).toEqual(["a", "b"]);
    expect(recordedFlows(attributes, { ...owner, uid: "uid-2" })).toEqual([]);
    expect(recordedFlows({ "kpo.dev/authentication-flows": "{not json" }, owner)).toEqual([]);
    expect(recordedFlows(undefined, owner)).toEqual([]);
  });
});
