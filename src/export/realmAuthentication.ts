// The realm's authentication in an export → spec.authenticationFlows, spec.flowBindings and
// spec.requiredActions: the inverse of src/resources/authenticationFlowRepresentation.ts. Keycloak
// exports every flow flat, sub-flows included, each execution naming its sub-flow by alias and its
// configuration by alias in `authenticatorConfig` — the CRD's own shape, so flows map one to one.
// Built-in flows are Keycloak's: left out while unchanged, reported when edited (the operator
// creates and changes only its own flows). Required actions are the realm's registrations: the spec
// lists the fields that differ from a new realm's.
import type { AuthenticationFlow, FlowExecution, RequiredAction } from "../api/index.js";
import { flowBindingFields } from "../resources/authenticationFlowRepresentation.js";
import { records, recordOf, sameValue, str, type ExportContext } from "./exportContext.js";
import { childPath, itemPath } from "./report.js";

export const authenticationFields = [
  "authenticationFlows",
  "authenticatorConfig",
  "requiredActions",
  ...Object.values(flowBindingFields),
];

const requirements = new Set(["REQUIRED", "ALTERNATIVE", "CONDITIONAL", "DISABLED"]);
const flowProviders = new Set(["basic-flow", "client-flow", "form-flow"]);
/** What Keycloak names as the authenticator of a form-flow's execution: implied by the flow kind. */
const formFlowProvider = "registration-page-form";

const stringConfig = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(recordOf(v)).map(([k, value]) => [k, String(value)]));

function flowSpec(
  ctx: ExportContext,
  flow: Record<string, unknown>,
  configs: Map<string, Record<string, unknown>>,
  used: Set<string>,
): AuthenticationFlow | undefined {
  const alias = str(flow.alias) ?? "";
  const path = itemPath("$", "authenticationFlows", "alias", alias);
  const providerId = str(flow.providerId) ?? "basic-flow";
  if (!flowProviders.has(providerId)) {
    ctx.report.notExpressed(
      childPath(path, "providerId"),
      "spec.authenticationFlows[].providerId is basic-flow, client-flow or form-flow",
    );
    return undefined;
  }
  const executions: FlowExecution[] = [];
  const ordered = records(flow.authenticationExecutions)
    .map((e, index) => ({ e, index }))
    .sort((a, b) => Number(a.e.priority ?? 0) - Number(b.e.priority ?? 0) || a.index - b.index);
  for (const { e, index } of ordered) {
    const at = `${childPath(path, "authenticationExecutions")}[${index}]`;
    const requirement = str(e.requirement) ?? "DISABLED";
    if (!requirements.has(requirement)) {
      ctx.report.notExpressed(
        childPath(at, "requirement"),
        "the CRD's requirements are REQUIRED, ALTERNATIVE, CONDITIONAL and DISABLED",
      );
      continue;
    }
    if (e.userSetupAllowed === true)
      ctx.report.notExpressed(
        childPath(at, "userSetupAllowed"),
        "an execution's user setup is not in the CRD",
      );
    if (e.authenticatorFlow === true) {
      const authenticator = str(e.authenticator);
      if (authenticator !== undefined && authenticator !== formFlowProvider)
        ctx.report.notExpressed(
          childPath(at, "authenticator"),
          "a sub-flow's execution names no authenticator in the CRD",
        );
      executions.push({
        subFlow: str(e.flowAlias) ?? "",
        requirement: requirement as FlowExecution["requirement"],
      });
      continue;
    }
    const configAlias = str(e.authenticatorConfig);
    const config = configAlias === undefined ? undefined : configs.get(configAlias);
    if (configAlias !== undefined) used.add(configAlias);
    const values = stringConfig(config?.config);
    executions.push({
      authenticator: str(e.authenticator) ?? "",
      requirement: requirement as FlowExecution["requirement"],
      ...(configAlias !== undefined
        ? { config: { alias: configAlias, ...(Object.keys(values).length > 0 ? { config: values } : {}) } }
        : {}),
    });
  }
  const description = str(flow.description);
  return {
    alias,
    ...(description ? { description } : {}),
    ...(providerId !== "basic-flow" ? { providerId: providerId as AuthenticationFlow["providerId"] } : {}),
    executions,
  };
}

/** A built-in flow as compared: its executions with their configurations resolved by alias. */
function comparableFlow(flow: Record<string, unknown>, configs: Map<string, Record<string, unknown>>) {
  const { id: _id, authenticationExecutions, ...rest } = flow;
  return {
    ...rest,
    executions: records(authenticationExecutions).map(({ id: _e, flowId: _f, ...e }) => ({
      ...e,
      config: configs.get(str(e.authenticatorConfig) ?? "")?.config,
    })),
  };
}

function configsByAlias(rep: Record<string, unknown>): Map<string, Record<string, unknown>> {
  return new Map(records(rep.authenticatorConfig).map((c) => [str(c.alias) ?? "", c]));
}

function flowsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const configs = configsByAlias(ctx.rep);
  const defaultConfigs = configsByAlias(ctx.defaults);
  const builtins = new Map(records(ctx.defaults.authenticationFlows).map((f) => [str(f.alias) ?? "", f]));
  const used = new Set<string>();
  const flows: AuthenticationFlow[] = [];
  const seen = new Set<string>();
  for (const flow of records(ctx.rep.authenticationFlows)) {
    const alias = str(flow.alias) ?? "";
    seen.add(alias);
    const path = itemPath("$", "authenticationFlows", "alias", alias);
    const builtin = builtins.get(alias);
    if (flow.builtIn === true || builtin !== undefined) {
      for (const e of records(flow.authenticationExecutions)) {
        const c = str(e.authenticatorConfig);
        if (c !== undefined) used.add(c);
      }
      if (
        builtin === undefined ||
        !sameValue(comparableFlow(flow, configs), comparableFlow(builtin, defaultConfigs))
      )
        ctx.report.notExpressed(
          path,
          "one of Keycloak's built-in flows, changed here; the CRD manages only the flows it creates (copy the flow under another alias and bind the copy)",
        );
      continue;
    }
    const spec = flowSpec(ctx, flow, configs, used);
    if (spec) flows.push(spec);
  }
  for (const alias of builtins.keys())
    if (!seen.has(alias))
      ctx.report.notExpressed(
        itemPath("$", "authenticationFlows", "alias", alias),
        "one of Keycloak's built-in flows, deleted from this realm; the CRD cannot delete one",
      );
  if (flows.length > 0) body.authenticationFlows = flows;
  for (const [alias, config] of configs) {
    if (used.has(alias) || sameValue(config.config, defaultConfigs.get(alias)?.config)) continue;
    ctx.report.notExpressed(
      itemPath("$", "authenticatorConfig", "alias", alias),
      "an authenticator configuration no flow execution uses; the CRD keeps configurations with their execution",
    );
  }

  const bindings: Record<string, string> = {};
  for (const [key, field] of Object.entries(flowBindingFields)) {
    const alias = str(ctx.rep[field]);
    if (alias !== undefined && alias !== ctx.defaults[field]) bindings[key] = alias;
  }
  if (Object.keys(bindings).length > 0) body.flowBindings = bindings;
}

const requiredActionFields = ["enabled", "defaultAction", "priority"] as const;

function requiredActionsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const builtins = new Map(records(ctx.defaults.requiredActions).map((a) => [str(a.alias) ?? "", a]));
  const actions: RequiredAction[] = [];
  const seen = new Set<string>();
  for (const action of records(ctx.rep.requiredActions)) {
    const alias = str(action.alias) ?? "";
    seen.add(alias);
    const path = itemPath("$", "requiredActions", "alias", alias);
    const base = builtins.get(alias);
    // The sync registers an action under its provider id, which becomes its alias.
    if (str(action.providerId) !== undefined && action.providerId !== alias)
      ctx.report.notExpressed(
        childPath(path, "providerId"),
        "the operator registers a required action under its provider id as alias",
      );
    const spec: RequiredAction = { alias };
    for (const field of requiredActionFields) {
      const value = action[field];
      if (value !== undefined && (base === undefined || value !== base[field]))
        Object.assign(spec, { [field]: value });
    }
    const config = stringConfig(action.config);
    if (
      !sameValue(config, stringConfig(base?.config)) &&
      (base !== undefined || Object.keys(config).length > 0)
    )
      spec.config = config;
    if (Object.keys(spec).length > 1 || base === undefined) actions.push(spec);
  }
  for (const alias of builtins.keys())
    if (!seen.has(alias))
      ctx.report.notExpressed(
        itemPath("$", "requiredActions", "alias", alias),
        "one of Keycloak's required actions, unregistered in this realm; the operator never unregisters one",
      );
  if (actions.length > 0) body.requiredActions = actions;
}

export function authenticationSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  flowsSpec(ctx, body);
  requiredActionsSpec(ctx, body);
}
