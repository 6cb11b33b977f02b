// One statechart for every kind. machines/lifecycle.chart.json holds the shape every kind shares —
// the states, the guard chain dependency → policy → provision written once as named steps and
// chains, the error handling, the timers — and machines/<kind>.json holds what differs: the
// machine id, what the kind waits for, the descriptions, the constants of the shared JSON-Logic
// rules (a base delay, a number of attempts) and the optional branches it has. `instantiateChart` joins the two into the plain machine document
// (MachineFile) that the loader validates and XState runs, so nothing downstream knows there were
// two files.
import type { ResourceKind } from "../policy/decision.js";
import type { MachineConfigJson, MachineFile, StateJson, TransitionJson, TransitionsJson } from "./loader.js";

/** A transition as the chart writes it: a plain one, a chain to expand, or a step to reuse. */
export type ChartTransitionJson =
  | string
  | (TransitionJson & { branch?: string; $comment?: string })
  | { chain: string; steps?: Record<string, Partial<TransitionJson>> }
  | ({ use: string } & Partial<TransitionJson>);

/** The shared chart file (machines/lifecycle.chart.json). */
export interface ChartFile {
  $comment?: string | string[];
  /** The rules every kind shares; `{"const": name}` in a rule's logic is the kind's constant. */
  rules: Record<string, ChartRule>;
  delays: MachineFile["delays"];
  errorReasons?: string[];
  steps: Record<string, TransitionJson & { $comment?: string }>;
  chains: Record<string, Array<string | ({ use: string } & Partial<TransitionJson>)>>;
  machine: Omit<MachineConfigJson, "id">;
}

export interface ChartRule {
  description?: string;
  logic: unknown;
}

/** One kind's parameters (machines/<kind>.json). */
export interface KindParameters {
  $comment?: string;
  kind: ResourceKind;
  /** The chart file, relative to this file. */
  chart: string;
  id: string;
  dependency: string;
  description?: string;
  /** Optional branches of the chart this kind has (transitions marked `"branch"`). */
  branches: string[];
  /** State descriptions; a state the kind does not describe keeps the chart's. */
  descriptions?: Record<string, string>;
  /** The values the chart's rules name with `{"const": name}`; every one must be used. */
  constants?: Record<string, number>;
  /** Rules this kind writes itself instead of the chart's (same name), e.g. a fixed delay. */
  rules?: Record<string, unknown>;
}

/** A reference the chart or the parameters get wrong; `path` is a JSON path in `file`. */
export class ChartError extends Error {
  constructor(
    readonly file: "chart" | "parameters",
    readonly path: string,
    detail: string,
  ) {
    super(detail);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function stripComment<T extends object>(t: T): T {
  const copy = { ...t } as Record<string, unknown>;
  delete copy.$comment;
  return copy as T;
}

function step(chart: ChartFile, ref: string | ({ use: string } & Partial<TransitionJson>), path: string) {
  const name = typeof ref === "string" ? ref : ref.use;
  const base = chart.steps[name];
  if (!base)
    throw new ChartError(
      "chart",
      path,
      `unknown step ${JSON.stringify(name)}. Known steps: ${Object.keys(chart.steps).join(", ")}.`,
    );
  const overrides: Partial<TransitionJson> = typeof ref === "string" ? {} : { ...ref };
  delete (overrides as { use?: string }).use;
  return { name, transition: { ...stripComment(base), ...overrides } };
}

function expand(
  chart: ChartFile,
  branches: ReadonlySet<string>,
  value: TransitionsJson | ChartTransitionJson | ChartTransitionJson[],
  path: string,
): TransitionsJson {
  const list = Array.isArray(value) ? value : [value];
  const out: Array<string | TransitionJson> = [];
  list.forEach((t, i) => {
    const p = Array.isArray(value) ? `${path}[${i}]` : path;
    if (isObject(t) && "chain" in t) {
      const { chain, steps: overrides = {} } = t;
      const refs = chart.chains[chain];
      if (!refs)
        throw new ChartError(
          "chart",
          `${p}.chain`,
          `unknown chain ${JSON.stringify(chain)}. Known chains: ${Object.keys(chart.chains).join(", ")}.`,
        );
      const used = new Set<string>();
      refs.forEach((ref, j) => {
        const { name, transition } = step(chart, ref, `$.chains.${chain}[${j}]`);
        used.add(name);
        out.push({ ...transition, ...(overrides[name] ?? {}) });
      });
      for (const name of Object.keys(overrides)) {
        if (!used.has(name))
          throw new ChartError("chart", `${p}.steps.${name}`, `chain "${chain}" has no step "${name}".`);
      }
      return;
    }
    if (isObject(t) && "use" in t) {
      out.push(step(chart, t, p).transition);
      return;
    }
    if (isObject(t) && "branch" in t) {
      const { branch, ...rest } = t as unknown as TransitionJson & { branch: string };
      if (branches.has(branch)) out.push(stripComment(rest));
      return;
    }
    out.push(typeof t === "string" ? t : stripComment(t as TransitionJson));
  });
  return out.length === 1 && !Array.isArray(value) ? (out[0] as string | TransitionJson) : out;
}

/** Every branch the chart marks, so a parameter file cannot name one that does not exist. */
function chartBranches(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => chartBranches(v, found));
  else if (isObject(value)) {
    if (typeof value.branch === "string") found.add(value.branch);
    Object.values(value).forEach((v) => chartBranches(v, found));
  }
  return found;
}

const CONST_KEY = "const";

/** The constant names a rule's logic reads, in order of first use. */
function constantsOf(logic: unknown, found: string[] = []): string[] {
  if (Array.isArray(logic)) logic.forEach((item) => constantsOf(item, found));
  else if (isObject(logic)) {
    const name = logic[CONST_KEY];
    if (Object.keys(logic).length === 1 && typeof name === "string") {
      if (!found.includes(name)) found.push(name);
    } else Object.values(logic).forEach((v) => constantsOf(v, found));
  }
  return found;
}

/** The chart's rules with this kind's constants in place of `{"const": name}`, and its own rules. */
function kindRules(chart: ChartFile, params: KindParameters): Record<string, unknown> {
  const constants = params.constants ?? {};
  const own = params.rules ?? {};
  const fill = (logic: unknown, path: string): unknown => {
    if (Array.isArray(logic)) return logic.map((item, i) => fill(item, `${path}[${i}]`));
    if (!isObject(logic)) return logic;
    const name = logic[CONST_KEY];
    if (Object.keys(logic).length === 1 && CONST_KEY in logic) {
      const value = typeof name === "string" ? constants[name] : undefined;
      if (value === undefined)
        throw new ChartError(
          "parameters",
          `$.constants.${String(name)}`,
          `the chart's rule at ${path} needs the constant ${JSON.stringify(name)}; add it to "constants".`,
        );
      return value;
    }
    return Object.fromEntries(Object.entries(logic).map(([k, v]) => [k, fill(v, `${path}.${k}`)]));
  };
  const known = new Set(Object.values(chart.rules).flatMap((rule) => constantsOf(rule.logic)));
  for (const name of Object.keys(constants)) {
    if (!known.has(name))
      throw new ChartError(
        "parameters",
        `$.constants.${name}`,
        `no rule of the chart uses the constant ${JSON.stringify(name)}; ` +
          `the constants it reads: ${[...known].join(", ") || "none"}.`,
      );
  }
  const rules: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(chart.rules)) {
    if (name in own) continue;
    const logic = fill(rule.logic, `$.rules.${name}.logic`);
    const values = constantsOf(rule.logic).map((n) => `${n} = ${String(constants[n])}`);
    const description =
      rule.description === undefined || values.length === 0
        ? rule.description
        : `${rule.description.replace(/\.$/, "")} (${values.join(", ")}).`;
    rules[name] = { ...(description !== undefined ? { description } : {}), logic };
  }
  return { ...rules, ...own };
}

/** The machine document for one kind: the chart with the kind's parameters filled in. */
export function instantiateChart(chart: ChartFile, params: KindParameters): MachineFile {
  const known = chartBranches(chart.machine);
  const branches = new Set(params.branches);
  params.branches.forEach((b, i) => {
    if (!known.has(b))
      throw new ChartError(
        "parameters",
        `$.branches[${i}]`,
        `unknown branch ${JSON.stringify(b)}. The chart's branches: ${[...known].join(", ") || "none"}.`,
      );
  });
  for (const name of Object.keys(params.descriptions ?? {})) {
    if (!(name in chart.machine.states))
      throw new ChartError("parameters", `$.descriptions.${name}`, `the chart has no state ${name}.`);
  }
  const states: Record<string, StateJson> = {};
  for (const [name, raw] of Object.entries(chart.machine.states)) {
    const path = `$.machine.states.${name}`;
    const description = params.descriptions?.[name] ?? raw.description;
    const state: StateJson = { ...(description !== undefined ? { description } : {}), ...raw };
    if (description !== undefined) state.description = description;
    if (raw.on) {
      state.on = Object.fromEntries(
        Object.entries(raw.on).map(([event, t]) => [
          event,
          expand(chart, branches, t, `${path}.on.${event}`),
        ]),
      );
    }
    if (raw.invoke) {
      const invoke = { ...raw.invoke };
      for (const key of ["onDone", "onError"] as const) {
        const t = raw.invoke[key];
        if (t !== undefined) invoke[key] = expand(chart, branches, t, `${path}.invoke.${key}`);
      }
      state.invoke = invoke;
    }
    states[name] = state;
  }
  const machine: MachineConfigJson = { id: params.id, ...chart.machine, states };
  if (chart.machine.on) {
    machine.on = Object.fromEntries(
      Object.entries(chart.machine.on).map(([event, t]) => [
        event,
        expand(chart, branches, t, `$.machine.on.${event}`),
      ]),
    );
  }
  const doc: MachineFile = {
    kind: params.kind,
    dependency: params.dependency,
    rules: kindRules(chart, params),
    delays: chart.delays,
    machine,
  };
  if (chart.errorReasons !== undefined) doc.errorReasons = chart.errorReasons;
  if (params.description !== undefined) doc.description = params.description;
  return doc;
}
