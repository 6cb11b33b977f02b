// The structure of the machine files as JSON Schemas checked with ajv: a kind's parameters
// (machines/<kind>.json), the shared chart (machines/lifecycle.chart.json), and the complete
// machine document the loader validates (the chart filled in with a kind's parameters, or a
// fixture written out in full). The schemas say which fields exist and what type each has; the
// loader's own checks keep what a schema cannot say well: that every named guard, action, actor,
// delay, rule, event and target exists, that every state is reachable, that timers are armed and
// handled in pairs.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { PHASES } from "./types.js";

const actionRef = {
  anyOf: [
    { type: "string" },
    {
      type: "object",
      properties: { type: { type: "string" }, params: { type: "object" } },
      required: ["type"],
      additionalProperties: false,
    },
  ],
};

/** The schema of a complete machine document (draft 2020-12). */
export const MACHINE_FILE_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "kpo lifecycle machine",
  type: "object",
  properties: {
    kind: { type: "string" },
    dependency: { type: "string", minLength: 1 },
    description: { type: "string" },
    rules: { type: "object" },
    delays: {
      type: "object",
      additionalProperties: {
        type: "object",
        properties: { rule: { type: "string" } },
        required: ["rule"],
        additionalProperties: false,
      },
    },
    errorReasons: { type: "array", items: { type: "string", minLength: 1 } },
    machine: {
      type: "object",
      properties: {
        id: { type: "string", minLength: 1 },
        description: { type: "string" },
        initial: { type: "string" },
        on: { $ref: "#/$defs/on" },
        states: {
          type: "object",
          properties: Object.fromEntries(PHASES.map((phase) => [phase, { $ref: "#/$defs/state" }])),
          required: [...PHASES],
          additionalProperties: { $ref: "#/$defs/state" },
        },
      },
      required: ["id", "initial", "states"],
      additionalProperties: false,
    },
  },
  required: ["kind", "dependency", "rules", "delays", "machine"],
  additionalProperties: false,
  $defs: {
    actions: { anyOf: [actionRef, { type: "array", items: actionRef }] },
    transition: {
      anyOf: [
        { type: "string" },
        {
          type: "object",
          properties: {
            target: { type: "string" },
            guard: { type: "string" },
            actions: { $ref: "#/$defs/actions" },
            reenter: { type: "boolean" },
            description: { type: "string" },
          },
          additionalProperties: false,
        },
      ],
    },
    transitions: {
      anyOf: [{ $ref: "#/$defs/transition" }, { type: "array", items: { $ref: "#/$defs/transition" } }],
    },
    on: { type: "object", additionalProperties: { $ref: "#/$defs/transitions" } },
    state: {
      type: "object",
      properties: {
        description: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        meta: {
          type: "object",
          properties: { resumesAs: { type: "string" } },
          additionalProperties: false,
        },
        type: { const: "final" },
        entry: { $ref: "#/$defs/actions" },
        exit: { $ref: "#/$defs/actions" },
        on: { $ref: "#/$defs/on" },
        invoke: {
          type: "object",
          properties: {
            id: { type: "string", minLength: 1 },
            src: { type: "string" },
            onDone: { $ref: "#/$defs/transitions" },
            onError: { $ref: "#/$defs/transitions" },
          },
          required: ["id", "src", "onDone", "onError"],
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
const validateMachine = ajv.compile(MACHINE_FILE_SCHEMA);

/** A kind's parameter file (machines/<kind>.json): what differs between kinds, nothing else. */
export const KIND_PARAMETERS_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "kpo lifecycle parameters of one kind",
  type: "object",
  properties: {
    $comment: { type: "string" },
    kind: { type: "string" },
    chart: { type: "string", pattern: "\\.chart\\.json$" },
    id: { type: "string", minLength: 1 },
    dependency: { type: "string", minLength: 1 },
    description: { type: "string" },
    branches: { type: "array", items: { type: "string" }, uniqueItems: true },
    descriptions: { type: "object", additionalProperties: { type: "string" } },
    constants: { type: "object", additionalProperties: { type: "number", minimum: 0 } },
    rules: { type: "object" },
  },
  required: ["kind", "chart", "id", "dependency", "branches"],
  additionalProperties: false,
} as const;
const validateParameters = ajv.compile(KIND_PARAMETERS_SCHEMA);

const stepRef = {
  anyOf: [{ type: "string" }, { type: "object", properties: { use: { type: "string" } }, required: ["use"] }],
};

/**
 * The shared chart (machines/lifecycle.chart.json). Its states are checked in full once filled in
 * (MACHINE_FILE_SCHEMA); here only the parts the filling-in reads: steps, chains, delays.
 */
export const CHART_FILE_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "kpo lifecycle chart",
  type: "object",
  properties: {
    $comment: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
    errorReasons: { type: "array", items: { type: "string", minLength: 1 } },
    rules: {
      type: "object",
      additionalProperties: {
        type: "object",
        properties: { description: { type: "string" }, logic: {} },
        required: ["logic"],
        additionalProperties: false,
      },
    },
    delays: { type: "object" },
    steps: { type: "object", additionalProperties: { type: "object" } },
    chains: { type: "object", additionalProperties: { type: "array", items: stepRef } },
    machine: {
      type: "object",
      properties: { states: { type: "object", additionalProperties: { type: "object" } } },
      required: ["states"],
    },
  },
  required: ["rules", "delays", "steps", "chains", "machine"],
  additionalProperties: false,
} as const;
const validateChart = ajv.compile(CHART_FILE_SCHEMA);

/** Extra advice for a field the schema refuses, by the (sub)schema that refused it. */
const HINTS = new Map<unknown, string>([
  [
    MACHINE_FILE_SCHEMA.$defs.state,
    " (XState `after` timers are not durable; arm a timer with the armTimer action and handle RETRY_DUE instead.)",
  ],
]);

/** `/machine/states/Pending/on/RECONCILE/1` as the loader writes paths: `$.machine.states.Pending.on.RECONCILE[1]`. */
function jsonPath(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : `${path}.${s}`), "$");
}

function describe(error: ErrorObject): { path: string; detail: string } {
  const path = jsonPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const field = String(params.additionalProperty);
      const allowed = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      const hint = HINTS.get(error.parentSchema) ?? "";
      return {
        path: `${path}.${field}`,
        detail: `unexpected field "${field}". Allowed fields: ${allowed.join(", ")}.${hint}`,
      };
    }
    case "required": {
      const field = String(params.missingProperty);
      return { path: `${path}.${field}`, detail: `missing: a required field.` };
    }
    case "const":
      return { path, detail: `must be ${JSON.stringify(params.allowedValue)}.` };
    default:
      return { path, detail: `${error.message ?? "is invalid"}.` };
  }
}

/**
 * The first structural problem of a document, or undefined when it matches the schema. Of the
 * errors ajv reports, the deepest is the one the author made: a bad transition inside a list fails
 * both the "one transition" and the "list of transitions" branches, and the deepest error points
 * into the branch that was meant.
 */
function problemOf(validate: ValidateFunction, doc: unknown): { path: string; detail: string } | undefined {
  if (validate(doc)) return undefined;
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== "anyOf");
  const depth = (e: ErrorObject) => e.instancePath.split("/").length + (e.keyword === "type" ? 0 : 1);
  const deepest = errors.reduce<ErrorObject | undefined>(
    (best, e) => (!best || depth(e) > depth(best) ? e : best),
    undefined,
  );
  return deepest ? describe(deepest) : { path: "$", detail: "does not match the schema." };
}

/** The first structural problem of a complete machine document. */
export const machineSchemaProblem = (doc: unknown) => problemOf(validateMachine, doc);
/** The first structural problem of a kind's parameter file. */
export const parametersSchemaProblem = (doc: unknown) => problemOf(validateParameters, doc);
/** The first structural problem of the shared chart. */
export const chartSchemaProblem = (doc: unknown) => problemOf(validateChart, doc);
