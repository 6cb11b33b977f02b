// KeycloakRealm authentication spec → what the realm's authentication should be (flows as trees,
// flow bindings as RealmRepresentation fields, required actions), and KeycloakClient flow overrides
// → their Keycloak keys. Pure: no I/O.
//
// The CRD lists every flow, top-level and sub-flow alike, flat by alias, and an execution names its
// sub-flow by alias (`subFlow`). A CRD schema cannot recurse, so inline nesting would fix the depth
// in the schema and copy the execution schema once per level (as groups do); a flat list keeps one
// schema, lets sub-flows be reviewed on their own, and matches Keycloak, where every flow — sub-flows
// included — has a realm-unique alias. The price is that the shape is checked here: each sub-flow is
// named by exactly one execution, there are no cycles, nesting is bounded, and the flow kinds fit
// their place. Problems are returned, not thrown, so the sync can refuse the whole spec before its
// first write.
import type {
  AuthenticationFlow,
  ClientFlowOverrides,
  FlowBindings,
  KeycloakRealmSpec,
  RequiredAction,
} from "../api/index.js";
import { definedOnly } from "./realmRepresentation.js";

export type Requirement = "REQUIRED" | "ALTERNATIVE" | "CONDITIONAL" | "DISABLED";
export type FlowProvider = "basic-flow" | "client-flow" | "form-flow";

export interface DesiredAuthenticatorConfig {
  alias: string;
  config: Record<string, string>;
}

export type DesiredExecution =
  | {
      kind: "authenticator";
      authenticator: string;
      requirement: Requirement;
      config?: DesiredAuthenticatorConfig;
    }
  | { kind: "flow"; flow: DesiredFlow; requirement: Requirement };

/** A flow with its sub-flows resolved into the executions that enter them. */
export interface DesiredFlow {
  alias: string;
  description?: string;
  providerId: FlowProvider;
  executions: DesiredExecution[];
}

/** The realm's flow bindings, by the RealmRepresentation field each one sets. */
export const flowBindingFields = {
  browser: "browserFlow",
  registration: "registrationFlow",
  directGrant: "directGrantFlow",
  resetCredentials: "resetCredentialsFlow",
  clientAuthentication: "clientAuthenticationFlow",
  dockerAuthentication: "dockerAuthenticationFlow",
  firstBrokerLogin: "firstBrokerLoginFlow",
} as const satisfies Record<keyof FlowBindings, string>;

export type FlowBindingField = (typeof flowBindingFields)[keyof typeof flowBindingFields];

/** Binding field → flow alias; only the bindings the spec sets. */
export type DesiredFlowBindings = Partial<Record<FlowBindingField, string>>;

export interface DesiredRequiredAction {
  alias: string;
  enabled?: boolean;
  defaultAction?: boolean;
  priority?: number;
  config?: Record<string, string>;
}

export interface DesiredAuthentication {
  /** Top-level flows, sub-flows nested. Undefined: flows are not managed. */
  flows?: DesiredFlow[];
  bindings?: DesiredFlowBindings;
  requiredActions?: DesiredRequiredAction[];
  /** What is wrong with the shape of spec.authenticationFlows; the sync refuses the spec if any. */
  problems: string[];
}

/** Deepest nesting of sub-flows below a top-level flow (Keycloak has no limit; people do). */
export const maxSubFlowDepth = 5;

const path = "spec.authenticationFlows";

/** The flows of the spec as trees, with every problem of their shape. */
export function flowTrees(flows: readonly AuthenticationFlow[]): {
  flows: DesiredFlow[];
  problems: string[];
} {
  const problems: string[] = [];
  const byAlias = new Map(flows.map((f) => [f.alias, f]));
  const parents = new Map<string, string[]>();
  for (const flow of flows) {
    for (const e of flow.executions) {
      if (e.subFlow === undefined) continue;
      if (!byAlias.has(e.subFlow))
        problems.push(
          `${path}[${flow.alias}] enters sub-flow "${e.subFlow}", which is not in ${path}; add it or correct the name`,
        );
      parents.set(e.subFlow, [...(parents.get(e.subFlow) ?? []), flow.alias]);
    }
  }
  for (const [alias, from] of parents) {
    if (from.length > 1)
      problems.push(
        `${path}[${alias}] is entered from ${from.length} executions (${from.map((a) => `"${a}"`).join(", ")}); ` +
          "a sub-flow belongs to one execution in Keycloak: give each its own copy under another alias",
      );
  }
  const visited = new Set<string>();
  // A subtree cut off for its depth is reported as such, not again as unreachable.
  const markReached = (alias: string) => {
    if (visited.has(alias)) return;
    visited.add(alias);
    for (const e of byAlias.get(alias)?.executions ?? []) if (e.subFlow !== undefined) markReached(e.subFlow);
  };
  const build = (flow: AuthenticationFlow, trail: string[]): DesiredFlow => {
    visited.add(flow.alias);
    const executions: DesiredExecution[] = [];
    for (const e of flow.executions) {
      if (e.authenticator !== undefined) {
        executions.push(
          definedOnly({
            kind: "authenticator" as const,
            authenticator: e.authenticator,
            requirement: e.requirement,
            config: e.config && { alias: e.config.alias, config: { ...(e.config.config ?? {}) } },
          }) as DesiredExecution,
        );
        continue;
      }
      const child = e.subFlow === undefined ? undefined : byAlias.get(e.subFlow);
      if (!child) continue;
      if (trail.includes(child.alias)) {
        problems.push(
          `${path}[${child.alias}] contains itself (${[...trail, child.alias].map((a) => `"${a}"`).join(" → ")}); remove one of those sub-flow steps`,
        );
        continue;
      }
      if (trail.length > maxSubFlowDepth) {
        markReached(child.alias);
        problems.push(
          `${path}[${child.alias}] is nested more than ${maxSubFlowDepth} levels deep (${[...trail, child.alias].map((a) => `"${a}"`).join(" → ")}); flatten the flow`,
        );
        continue;
      }
      if ((child.providerId ?? "basic-flow") === "client-flow")
        problems.push(
          `${path}[${child.alias}] is a client-flow used as a sub-flow; client-flow is for top-level client authentication flows only: use basic-flow`,
        );
      executions.push({
        kind: "flow",
        flow: build(child, [...trail, child.alias]),
        requirement: e.requirement,
      });
    }
    return definedOnly({
      alias: flow.alias,
      description: flow.description,
      providerId: flow.providerId ?? "basic-flow",
      executions,
    }) as DesiredFlow;
  };
  const topLevel = flows.filter((f) => !parents.has(f.alias));
  for (const flow of topLevel) {
    if (flow.providerId === "form-flow")
      problems.push(
        `${path}[${flow.alias}] is a form-flow but no execution enters it; form-flow is for sub-flows only (as in registration): use basic-flow or enter it from another flow`,
      );
  }
  const trees = topLevel.map((f) => build(f, [f.alias]));
  // Flows that only enter each other are reached from no top-level flow.
  const cyclic = flows.filter((f) => !visited.has(f.alias)).map((f) => `"${f.alias}"`);
  if (cyclic.length > 0)
    problems.push(
      `${path} entries ${cyclic.join(", ")} only enter each other (a cycle) and are reached from no top-level flow; remove one of those sub-flow steps`,
    );
  return { flows: trees, problems };
}

export function flowBindings(bindings: FlowBindings): DesiredFlowBindings {
  const result: DesiredFlowBindings = {};
  for (const [key, field] of Object.entries(flowBindingFields) as [keyof FlowBindings, FlowBindingField][]) {
    const alias = bindings[key];
    if (alias !== undefined) result[field] = alias;
  }
  return result;
}

export function requiredActionRepresentation(action: RequiredAction): DesiredRequiredAction {
  return definedOnly({
    alias: action.alias,
    enabled: action.enabled,
    defaultAction: action.defaultAction,
    priority: action.priority,
    config: action.config && { ...action.config },
  }) as DesiredRequiredAction;
}

/** The realm's desired authentication, or undefined when the spec manages none of it. */
export function desiredAuthentication(spec: KeycloakRealmSpec): DesiredAuthentication | undefined {
  if (
    spec.authenticationFlows === undefined &&
    spec.flowBindings === undefined &&
    spec.requiredActions === undefined
  )
    return undefined;
  const trees = spec.authenticationFlows === undefined ? undefined : flowTrees(spec.authenticationFlows);
  return definedOnly({
    flows: trees?.flows,
    bindings: spec.flowBindings && flowBindings(spec.flowBindings),
    requiredActions: spec.requiredActions?.map(requiredActionRepresentation),
    problems: trees?.problems ?? [],
  }) as DesiredAuthentication;
}

/** Keycloak's keys of a client's flow overrides (`browser`, `direct_grant`) → flow aliases. */
export function clientFlowOverrides(overrides: ClientFlowOverrides): Record<string, string> {
  const keys: Record<string, string | undefined> = {
    browser: overrides.browser,
    direct_grant: overrides.directGrant,
  };
  return definedOnly(keys) as Record<string, string>;
}
