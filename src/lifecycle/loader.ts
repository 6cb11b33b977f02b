// Loads and validates the machine files (machines/*.json) at start-up and in tests. A machine file
// is data: the statechart (XState v5 config) plus the JSON-Logic rules and named delays it uses.
// The repository's files are a kind's parameters plus the one shared chart they name
// (machines/lifecycle.chart.json, see chart.ts); a file without "chart" is a complete machine
// document (test fixtures). Either way the loader validates the complete document.
// Everything a file names must exist — guards, actions, actors, delays, rules, target states — and
// every state must be reachable; otherwise loading fails with the file and the JSON path of the bad
// reference, so a typo is caught before the operator serves a single reconcile. The document's
// structure (fields, types) is a JSON Schema (machineSchema.ts, checked with ajv); this file keeps
// the checks a schema cannot express.
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { KINDS } from "../api/index.js";
import type { ResourceKind } from "../policy/decision.js";
import { ChartError, instantiateChart, type ChartFile, type KindParameters } from "./chart.js";
import { compileRules, type CompiledRule, type RuleContract, type RuleVariables } from "../policy/rules.js";
import {
  ACTION_NAMES,
  ACTION_PARAMS,
  ACTOR_NAMES,
  EVENT_TYPES,
  GUARD_NAMES,
  lifecycleSetup,
  REQUIRED_RULES,
  type LifecycleMachine,
} from "./implementations.js";
import { errorMessage } from "./errors.js";
import { LIFECYCLE_TAGS } from "./phases.js";
import { chartSchemaProblem, machineSchemaProblem, parametersSchemaProblem } from "./machineSchema.js";
import { initialContext } from "./status.js";
import { PHASES, type LifecycleContext } from "./types.js";

import { DEFAULT_MACHINES_DIR } from "./paths.js";

export { DEFAULT_MACHINES_DIR };

export class MachineDefinitionError extends Error {
  override name = "MachineDefinitionError";
  constructor(
    readonly file: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${file}: ${path}: ${detail}`);
  }
}

export interface DelayDefinition {
  rule: string;
}

/** The raw machine file. */
export interface MachineFile {
  kind: ResourceKind;
  dependency: string;
  description?: string;
  rules: Record<string, unknown>;
  delays: Record<string, DelayDefinition>;
  /** Context reasons that describe a failure (Warning events, status.lastError). */
  errorReasons?: string[];
  machine: MachineConfigJson;
}

export interface TransitionJson {
  target?: string;
  guard?: string;
  actions?: ActionRefJson | ActionRefJson[];
  reenter?: boolean;
  description?: string;
}
export type ActionRefJson = string | { type: string; params?: Record<string, unknown> };
export type TransitionsJson = string | TransitionJson | Array<string | TransitionJson>;

export interface StateJson {
  description?: string;
  /** What the phase means to the code (see phases.ts). */
  tags?: string[];
  meta?: { resumesAs?: string };
  type?: "final";
  entry?: ActionRefJson | ActionRefJson[];
  exit?: ActionRefJson | ActionRefJson[];
  on?: Record<string, TransitionsJson>;
  invoke?: { id: string; src: string; onDone?: TransitionsJson; onError?: TransitionsJson };
}

export interface MachineConfigJson {
  id: string;
  initial: string;
  on?: Record<string, TransitionsJson>;
  states: Record<string, StateJson>;
}

/** A validated machine, ready for reconcileLifecycle. */
export interface LoadedMachine {
  kind: ResourceKind;
  /** The file it came from, as given to the loader (for messages). */
  file: string;
  dependency: string;
  definition: MachineFile;
  machine: LifecycleMachine;
  rules: Readonly<Record<string, CompiledRule>>;
  /** Named delays in milliseconds for a context and a random number in [0, 1). */
  delays: Readonly<Record<string, (context: LifecycleContext, random: number) => number>>;
  /** States that arm a timer and must be woken with RETRY_DUE. */
  timerStates: ReadonlySet<string>;
}

const RESOURCE_KINDS: readonly ResourceKind[] = KINDS;

const SAMPLES: RuleVariables[] = [];
for (let attempts = 0; attempts <= 20; attempts++) {
  for (const random of [0, 0.5, 0.999999]) {
    for (const progressing of [false, true]) SAMPLES.push({ attempts, random, progressing });
  }
}

/** Variables a rule receives besides the ones of its result type. */
const EXTRA_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  // The delay after a TransientError marked progressing (a rollout under way): no attempt counted.
  retryDelayMs: ["progressing"],
};

/** What each required rule is given and must return. */
export const RULE_CONTRACTS: Readonly<Record<string, RuleContract>> = Object.fromEntries(
  Object.entries(REQUIRED_RULES).map(([name, result]) => {
    const variables = [
      ...(result === "number" ? ["attempts", "random"] : ["attempts"]),
      ...(EXTRA_VARIABLES[name] ?? []),
    ];
    return [name, { variables, result, samples: SAMPLES.map((s) => pick(s, variables)) }];
  }),
);

function pick(sample: RuleVariables, keys: readonly string[]): RuleVariables {
  return Object.fromEntries(keys.filter((k) => k in sample).map((k) => [k, sample[k] as number | boolean]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The state each side effect must run in: the host relies on these roles. */
const INVOKED_IN: Readonly<Record<string, string>> = { Provisioning: "provision", Deleting: "teardown" };

/**
 * The semantic checks, on a document that already matches MACHINE_FILE_SCHEMA (its shape and
 * types): every name refers to something that exists, side effects run where the host expects
 * them, timers are armed and handled in pairs, every state is reachable.
 */
class Validator {
  readonly targets = new Map<string, Set<string>>();
  readonly armedStates = new Set<string>();
  readonly retryDueStates = new Set<string>();
  readonly disarmedStates = new Set<string>();

  constructor(
    readonly file: string,
    readonly doc: MachineFile,
  ) {}

  fail(path: string, detail: string): never {
    throw new MachineDefinitionError(this.file, path, detail);
  }

  known(path: string, what: string, name: unknown, names: readonly string[]): void {
    if (typeof name !== "string" || !names.includes(name)) {
      this.fail(path, `unknown ${what} ${JSON.stringify(name)}. Known ${what}s: ${names.join(", ")}.`);
    }
  }

  actions(path: string, value: ActionRefJson | ActionRefJson[], state: string): void {
    const list = Array.isArray(value) ? value : [value];
    list.forEach((ref, i) => {
      const p = Array.isArray(value) ? `${path}[${i}]` : path;
      if (typeof ref === "string") {
        this.known(p, "action", ref, ACTION_NAMES);
        if (ref === "disarmTimer") this.disarmedStates.add(state);
        const needs = ACTION_PARAMS[ref as (typeof ACTION_NAMES)[number]];
        if (needs)
          this.fail(
            p,
            `action "${ref}" needs params (${needs.join(", ")}); write {"type": "${ref}", "params": {...}}.`,
          );
        return;
      }
      this.known(`${p}.type`, "action", ref.type, ACTION_NAMES);
      const needs = ACTION_PARAMS[ref.type as (typeof ACTION_NAMES)[number]] ?? [];
      const params = ref.params ?? {};
      for (const key of needs) {
        if (!(key in params)) this.fail(`${p}.params.${key}`, `action "${ref.type}" needs param "${key}".`);
      }
      if (ref.type === "armTimer") {
        this.known(`${p}.params.delay`, "delay", params.delay, Object.keys(this.doc.delays));
        this.armedStates.add(state);
      }
    });
  }

  transitions(
    path: string,
    value: TransitionsJson,
    state: string,
    siblings: readonly string[],
    fromRoot: boolean,
  ): void {
    const list = Array.isArray(value) ? value : [value];
    list.forEach((t, i) => {
      const p = Array.isArray(value) ? `${path}[${i}]` : path;
      const transition: TransitionJson = typeof t === "string" ? { target: t } : t;
      if (transition.guard !== undefined) this.known(`${p}.guard`, "guard", transition.guard, GUARD_NAMES);
      if (transition.actions !== undefined) this.actions(`${p}.actions`, transition.actions, state);
      if (transition.target !== undefined) {
        const raw = transition.target;
        const name = fromRoot ? raw.replace(/^\./, "") : raw;
        if (fromRoot && !raw.startsWith(".")) {
          this.fail(`${p}.target`, `a machine-level transition targets a child state: write ".${raw}".`);
        }
        this.known(`${p}.target`, "target state", name, siblings);
        const from = this.targets.get(state) ?? new Set<string>();
        from.add(name);
        this.targets.set(state, from);
      }
    });
  }

  state(name: string, value: StateJson, stateNames: readonly string[]): void {
    const path = `$.machine.states.${name}`;
    value.tags?.forEach((tag, i) => this.known(`${path}.tags[${i}]`, "tag", tag, LIFECYCLE_TAGS));
    if (value.meta?.resumesAs !== undefined)
      this.known(`${path}.meta.resumesAs`, "state", value.meta.resumesAs, stateNames);
    if (value.entry !== undefined) this.actions(`${path}.entry`, value.entry, name);
    if (value.exit !== undefined) this.actions(`${path}.exit`, value.exit, name);
    for (const [event, t] of Object.entries(value.on ?? {})) {
      this.known(`${path}.on.${event}`, "event", event, EVENT_TYPES);
      if (event === "RETRY_DUE") this.retryDueStates.add(name);
      this.transitions(`${path}.on.${event}`, t, name, stateNames, false);
    }
    const expectedActor = INVOKED_IN[name];
    const inv = value.invoke;
    if (inv !== undefined) {
      this.known(`${path}.invoke.src`, "actor", inv.src, ACTOR_NAMES);
      if (expectedActor && inv.src !== expectedActor) {
        this.fail(`${path}.invoke.src`, `state ${name} must invoke "${expectedActor}", not "${inv.src}".`);
      }
      if (!expectedActor) {
        this.fail(`${path}.invoke`, `only ${Object.keys(INVOKED_IN).join(" and ")} run side effects.`);
      }
      for (const key of ["onDone", "onError"] as const) {
        this.transitions(`${path}.invoke.${key}`, inv[key] as TransitionsJson, name, stateNames, false);
      }
    } else if (expectedActor) {
      this.fail(`${path}.invoke`, `missing: state ${name} must invoke "${expectedActor}".`);
    }
  }

  run(): void {
    const problem = machineSchemaProblem(this.doc);
    if (problem) this.fail(problem.path, problem.detail);
    const doc = this.doc;
    this.known("$.kind", "kind", doc.kind, RESOURCE_KINDS);
    const numberRules = Object.entries(REQUIRED_RULES)
      .filter(([, t]) => t === "number")
      .map(([n]) => n);
    for (const [name, d] of Object.entries(doc.delays)) {
      this.known(`$.delays.${name}.rule`, "rule", d.rule, numberRules);
    }
    const m = doc.machine;
    const stateNames = Object.keys(m.states);
    for (const name of stateNames) this.known(`$.machine.states.${name}`, "state", name, PHASES);
    this.known("$.machine.initial", "initial state", m.initial, stateNames);
    for (const [event, t] of Object.entries(m.on ?? {})) {
      this.known(`$.machine.on.${event}`, "event", event, EVENT_TYPES);
      this.transitions(`$.machine.on.${event}`, t, "(machine)", stateNames, true);
    }
    for (const [name, s] of Object.entries(m.states)) this.state(name, s, stateNames);
    if ((m.states.Deleted as StateJson).type !== "final") {
      this.fail("$.machine.states.Deleted.type", `must be "final": reaching it releases the finalizer.`);
    }

    // Timers: a state that arms a timer must handle RETRY_DUE, or the wake-up would be dropped;
    // a state that handles RETRY_DUE must arm a timer, or it would never be woken.
    for (const s of this.armedStates) {
      if (!this.retryDueStates.has(s))
        this.fail(
          `$.machine.states.${s}.on.RETRY_DUE`,
          `missing: state ${s} arms a timer but does not handle RETRY_DUE.`,
        );
    }
    for (const s of this.armedStates) {
      if (!this.disarmedStates.has(s)) {
        this.fail(
          `$.machine.states.${s}.exit`,
          `state ${s} arms a timer but does not cancel it on exit: add "disarmTimer" to exit.`,
        );
      }
    }
    for (const s of this.retryDueStates) {
      if (!this.armedStates.has(s))
        this.fail(
          `$.machine.states.${s}.on.RETRY_DUE`,
          `state ${s} handles RETRY_DUE but never arms a timer (armTimer action).`,
        );
    }

    // Reachability from the initial state; machine-level transitions leave any reached state.
    const rootTargets = this.targets.get("(machine)") ?? new Set<string>();
    const reached = new Set<string>([m.initial]);
    const queue = [m.initial];
    const visit = (t: string): void => {
      if (reached.has(t)) return;
      reached.add(t);
      queue.push(t);
    };
    rootTargets.forEach(visit);
    while (queue.length > 0) {
      const s = queue.shift() as string;
      (this.targets.get(s) ?? new Set<string>()).forEach(visit);
    }
    for (const name of stateNames) {
      if (!reached.has(name))
        this.fail(`$.machine.states.${name}`, `state ${name} is unreachable from "${m.initial}".`);
    }
  }
}

/** Validates a parsed machine file; `file` names it in error messages. */
export function loadMachineDefinition(doc: unknown, file: string): LoadedMachine {
  const validator = new Validator(file, doc as MachineFile);
  validator.run();
  const def = doc as MachineFile;
  let rules: Record<string, CompiledRule>;
  try {
    rules = compileRules(def.rules, RULE_CONTRACTS, file);
  } catch (error) {
    const message = errorMessage(error);
    throw new MachineDefinitionError(file, "$.rules", message.replace(`${file}: `, ""));
  }
  const delays: Record<string, (context: LifecycleContext, random: number) => number> = {};
  for (const [name, d] of Object.entries(def.delays)) {
    const r = rules[d.rule] as CompiledRule;
    delays[name] = (context, random) =>
      Math.round(
        r.evaluate({ attempts: context.attempts, random, progressing: context.progressing }) as number,
      );
  }
  let machine: LifecycleMachine;
  try {
    // The validator above checked every name this config uses; XState takes it as data. The
    // context comes from the input (a status being restored) or starts fresh.
    const config = {
      ...def.machine,
      context: ({ input }: { input: LifecycleContext | undefined }) => input ?? initialContext(),
    };
    machine = lifecycleSetup(rules, def.dependency).createMachine(
      config as unknown as Parameters<ReturnType<typeof lifecycleSetup>["createMachine"]>[0],
    );
  } catch (error) {
    throw new MachineDefinitionError(
      file,
      "$.machine",
      `XState rejected the machine: ${errorMessage(error)}`,
    );
  }
  return {
    kind: def.kind,
    file,
    dependency: def.dependency,
    definition: def,
    machine,
    rules,
    delays,
    timerStates: validator.retryDueStates,
  };
}

function readJson(path: string, displayName: string): unknown {
  const refused = (what: string, error: unknown) =>
    new MachineDefinitionError(displayName, "$", `${what}: ${errorMessage(error)}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw refused("cannot read the file", error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw refused("not valid JSON", error);
  }
}

/** A shared chart, not a kind: loadMachines skips these. */
export const CHART_SUFFIX = ".chart.json";

/**
 * Reads, parses and validates one machine file: a kind's parameters (it names a "chart") or a
 * complete machine document. Errors in the filled-in chart are reported against the kind's file,
 * with the chart named, since the document that failed is that kind's machine.
 */
export function loadMachineFile(
  path: string,
  displayName = relative(process.cwd(), path) || basename(path),
): LoadedMachine {
  const doc = readJson(path, displayName);
  if (!isObject(doc) || doc.chart === undefined) return loadMachineDefinition(doc, displayName);
  const bad = parametersSchemaProblem(doc);
  if (bad) throw new MachineDefinitionError(displayName, bad.path, bad.detail);
  const chartFile = doc.chart as string;
  const chartPath = join(dirname(path), chartFile);
  const chartName = join(dirname(displayName), chartFile);
  const chart = readJson(chartPath, chartName);
  const badChart = chartSchemaProblem(chart);
  if (badChart) throw new MachineDefinitionError(chartName, badChart.path, badChart.detail);
  let machine: MachineFile;
  try {
    machine = instantiateChart(chart as ChartFile, doc as unknown as KindParameters);
  } catch (error) {
    if (error instanceof ChartError)
      throw new MachineDefinitionError(
        error.file === "chart" ? chartName : displayName,
        error.path,
        error.message,
      );
    throw error;
  }
  try {
    return loadMachineDefinition(machine, displayName);
  } catch (error) {
    if (error instanceof MachineDefinitionError)
      throw new MachineDefinitionError(
        error.file,
        error.path,
        `${error.detail} (${displayName}'s machine is ${chartName} with its parameters)`,
      );
    throw error;
  }
}

/** Loads every machines/*.json (charts aside), keyed by kind; each kind must appear exactly once. */
export function loadMachines(dir: string = DEFAULT_MACHINES_DIR): Map<ResourceKind, LoadedMachine> {
  const result = new Map<ResourceKind, LoadedMachine>();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json") && !f.endsWith(CHART_SUFFIX))
    .sort();
  for (const f of files) {
    const loaded = loadMachineFile(join(dir, f));
    const existing = result.get(loaded.kind);
    if (existing)
      throw new MachineDefinitionError(
        loaded.file,
        "$.kind",
        `${loaded.kind} is already defined by ${existing.file}.`,
      );
    result.set(loaded.kind, loaded);
  }
  for (const kind of RESOURCE_KINDS) {
    if (!result.has(kind))
      throw new MachineDefinitionError(dir, "$", `no machine file defines kind ${kind}.`);
  }
  return result;
}
