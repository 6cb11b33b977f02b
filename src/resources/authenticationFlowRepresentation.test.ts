import { describe, expect, it } from "vitest";
import type { AuthenticationFlow, KeycloakRealmSpec } from "../api/index.js";
import {
  clientFlowOverrides,
  desiredAuthentication,
  flowTrees,
  maxSubFlowDepth,
} from "./authenticationFlowRepresentation.js";

const step = (authenticator: string, requirement = "REQUIRED" as const) => ({ authenticator, requirement });
const enter = (subFlow: string, requirement: "ALTERNATIVE" | "CONDITIONAL" | "REQUIRED" = "ALTERNATIVE") => ({
  subFlow,
  requirement,
});

const browser: AuthenticationFlow[] = [
  { alias: "corp browser", executions: [step("auth-cookie"), enter("corp forms")] },
  {
    alias: "corp forms",
    executions: [step("auth-username-password-form"), enter("corp otp", "CONDITIONAL")],
  },
  {
    alias: "corp otp",
    executions: [
      step("conditional-user-configured"),
      { ...step("auth-otp-form"), config: { alias: "otp", config: { x: "1" } } },
    ],
  },
];

describe("flowTrees", () => {
  it("Given a flat list of flows naming sub-flows, Then the top-level flow holds them nested in order", () => {
    const { flows, problems } = flowTrees(browser);
    expect(problems).toEqual([]);
    expect(flows).toEqual([
      {
        alias: "corp browser",
        providerId: "basic-flow",
        executions: [
          { kind: "authenticator", authenticator: "auth-cookie", requirement: "REQUIRED" },
          {
            kind: "flow",
            requirement: "ALTERNATIVE",
            flow: {
              alias: "corp forms",
              providerId: "basic-flow",
              executions: [
                {
                  kind: "authenticator",
                  authenticator: "auth-username-password-form",
                  requirement: "REQUIRED",
                },
                {
                  kind: "flow",
                  requirement: "CONDITIONAL",
                  flow: {
                    alias: "corp otp",
                    providerId: "basic-flow",
                    executions: [
                      {
                        kind: "authenticator",
                        authenticator: "conditional-user-configured",
                        requirement: "REQUIRED",
                      },
                      {
                        kind: "authenticator",
                        authenticator: "auth-otp-form",
                        requirement: "REQUIRED",
                        config: { alias: "otp", config: { x: "1" } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    ]);
  });

  it("Given a sub-flow entered from two executions, Then that is a problem naming both", () => {
    const { problems } = flowTrees([
      { alias: "a", executions: [enter("shared")] },
      { alias: "b", executions: [enter("shared")] },
      { alias: "shared", executions: [step("auth-cookie")] },
    ]);
    expect(problems).toEqual([
      expect.stringContaining('spec.authenticationFlows[shared] is entered from 2 executions ("a", "b")'),
    ]);
  });

  it("Given flows that only enter each other, Then the cycle is a problem and no tree contains it", () => {
    const { flows, problems } = flowTrees([
      { alias: "top", executions: [step("auth-cookie")] },
      { alias: "x", executions: [enter("y")] },
      { alias: "y", executions: [enter("x")] },
    ]);
    expect(flows.map((f) => f.alias)).toEqual(["top"]);
    expect(problems).toEqual([expect.stringContaining('entries "x", "y" only enter each other')]);
  });

  it("Given a sub-flow name that is not in the list, Then the problem says which flow names it", () => {
    const { problems } = flowTrees([{ alias: "top", executions: [enter("missing")] }]);
    expect(problems).toEqual([
      expect.stringContaining(
        'spec.authenticationFlows[top] enters sub-flow "missing", which is not in spec.authenticationFlows',
      ),
    ]);
  });

  it("Given nesting deeper than the bound, Then the too-deep sub-flow is a problem", () => {
    const chain: AuthenticationFlow[] = [];
    for (let i = 0; i <= maxSubFlowDepth + 1; i++)
      chain.push({
        alias: `l${i}`,
        executions: i <= maxSubFlowDepth ? [enter(`l${i + 1}`)] : [step("auth-cookie")],
      });
    const { problems } = flowTrees(chain);
    expect(problems).toEqual([
      expect.stringContaining(
        `spec.authenticationFlows[l${maxSubFlowDepth + 1}] is nested more than ${maxSubFlowDepth} levels deep`,
      ),
    ]);
    expect(
      flowTrees(chain.slice(0, maxSubFlowDepth).concat([{ alias: `l${maxSubFlowDepth}`, executions: [] }]))
        .problems,
    ).toEqual([]);
  });

  it("Given a client-flow used as a sub-flow or a form-flow at the top, Then both are problems", () => {
    const { problems } = flowTrees([
      { alias: "top", executions: [enter("clientish")] },
      { alias: "clientish", providerId: "client-flow", executions: [] },
      { alias: "lonely form", providerId: "form-flow", executions: [] },
    ]);
    expect(problems).toHaveLength(2);
    expect(problems.join(" ")).toContain("[clientish] is a client-flow used as a sub-flow");
    expect(problems.join(" ")).toContain("[lonely form] is a form-flow but no execution enters it");
  });
});

describe("desiredAuthentication", () => {
  const base = { instanceRef: { name: "kc" }, realmName: "r" } as KeycloakRealmSpec;

  it("Given a spec without flows, bindings or required actions, Then authentication is not managed", () => {
    expect(desiredAuthentication(base)).toBeUndefined();
  });

  it("Given bindings and required actions, Then bindings become realm fields and only set fields appear", () => {
    expect(
      desiredAuthentication({
        ...base,
        flowBindings: { browser: "corp browser", clientAuthentication: "corp clients" },
        requiredActions: [
          { alias: "CONFIGURE_TOTP", enabled: true },
          { alias: "VERIFY_EMAIL", priority: 5, config: { a: "b" } },
        ],
      }),
    ).toEqual({
      bindings: { browserFlow: "corp browser", clientAuthenticationFlow: "corp clients" },
      requiredActions: [
        { alias: "CONFIGURE_TOTP", enabled: true },
        { alias: "VERIFY_EMAIL", priority: 5, config: { a: "b" } },
      ],
      problems: [],
    });
  });

  it("Given a client's overrides, Then they use Keycloak's keys", () => {
    expect(clientFlowOverrides({ browser: "b", directGrant: "d" })).toEqual({
      browser: "b",
      direct_grant: "d",
    });
    expect(clientFlowOverrides({ directGrant: "d" })).toEqual({ direct_grant: "d" });
  });
});
