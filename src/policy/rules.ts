// JSON-Logic rules: the operational lifecycle questions (how long to wait before a retry, when
// retries are exhausted, how often a failed resource is re-checked) kept as data in the machine
// files so that operators can tune them without a code change. Rules are pure functions of the
// variables they are given; randomness for jitter is passed in as the `random` variable, so a rule
// gives the same answer for the same input and tests stay deterministic.
//
// Rules are validated when they are loaded: only a small arithmetic/logic subset of JSON-Logic is
// accepted (no `log`, no data-scoped array operators whose `var` would mean something else), and
// every `var` must name a variable the caller promises to supply.
import jsonLogic, { type RulesLogic, type AdditionalOperation } from "json-logic-js";

/** A rule as written in a machine file under `rules.<name>`. */
export interface RuleDefinition {
  description?: string;
  /** The JSON-Logic expression. */
  logic: unknown;
}

export type RuleVariables = Record<string, number | boolean | string>;

export type RuleResultType = "number" | "boolean";

/** What the caller of a rule supplies and expects back; checked at load. */
export interface RuleContract {
  variables: readonly string[];
  result: RuleResultType;
  /** Sample inputs used at load to prove the rule yields the expected type (finite, non-negative numbers). */
  samples: readonly RuleVariables[];
}

export class RuleError extends Error {
  override name = "RuleError";
}

/**
 * Extra operations beyond the JSON-Logic standard set. `pow` exists because exponential backoff
 * cannot be written with the standard operators.
 */
const EXTRA_OPERATIONS: Record<string, (...args: unknown[]) => unknown> = {
  pow: (base: unknown, exponent: unknown) => Math.pow(Number(base), Number(exponent)),
};

/** The subset of operators a rule may use. */
export const ALLOWED_OPERATORS: readonly string[] = [
  "var",
  "if",
  "?:",
  "==",
  "===",
  "!=",
  "!==",
  "!",
  "!!",
  "and",
  "or",
  ">",
  ">=",
  "<",
  "<=",
  "min",
  "max",
  "+",
  "-",
  "*",
  "/",
  "%",
  ...Object.keys(EXTRA_OPERATIONS),
];

let extraOperationsRegistered = false;
function registerExtraOperations(): void {
  if (extraOperationsRegistered) return;
  for (const [name, fn] of Object.entries(EXTRA_OPERATIONS)) jsonLogic.add_operation(name, fn);
  extraOperationsRegistered = true;
}

/** A rule that passed validation; `evaluate` checks the result type on every call too. */
export interface CompiledRule {
  readonly name: string;
  readonly contract: RuleContract;
  evaluate(variables: RuleVariables): number | boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Walks a JSON-Logic expression and reports the first unknown operator or undeclared variable. */
function checkLogic(logic: unknown, path: string, contract: RuleContract, where: string): void {
  if (Array.isArray(logic)) {
    logic.forEach((item, i) => checkLogic(item, `${path}[${i}]`, contract, where));
    return;
  }
  if (!isPlainObject(logic)) return; // a literal
  const keys = Object.keys(logic);
  if (keys.length !== 1) {
    throw new RuleError(
      `${where}: ${path} is an object with ${keys.length} keys; a JSON-Logic operation has exactly one key (the operator). Wrap literal objects or fix the expression.`,
    );
  }
  const op = keys[0] as string;
  if (!ALLOWED_OPERATORS.includes(op)) {
    throw new RuleError(
      `${where}: ${path} uses unknown operator "${op}". Allowed operators: ${ALLOWED_OPERATORS.join(" ")}.`,
    );
  }
  const args = logic[op];
  if (op === "var") {
    const name: unknown = Array.isArray(args) ? (args as unknown[])[0] : args;
    if (typeof name !== "string") {
      throw new RuleError(`${where}: ${path}.var must name a variable with a literal string.`);
    }
    const root = name.split(".")[0] ?? name;
    if (!contract.variables.includes(root)) {
      throw new RuleError(
        `${where}: ${path} reads variable "${name}", which is not supplied to this rule. Available variables: ${
          contract.variables.length > 0 ? contract.variables.join(", ") : "(none)"
        }.`,
      );
    }
    return;
  }
  checkLogic(args, `${path}.${op}`, contract, where);
}

function checkResult(value: unknown, contract: RuleContract, where: string, variables: RuleVariables) {
  if (contract.result === "boolean") {
    if (typeof value !== "boolean") {
      throw new RuleError(
        `${where}: returned ${JSON.stringify(value)} for ${JSON.stringify(variables)}; it must return true or false.`,
      );
    }
    return value;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RuleError(
      `${where}: returned ${JSON.stringify(value)} for ${JSON.stringify(variables)}; it must return a finite number >= 0.`,
    );
  }
  return value;
}

/**
 * Validates and compiles one rule. `where` names the file and JSON path for error messages,
 * e.g. `machines/realm.json $.rules.retryDelayMs`.
 */
export function compileRule(
  name: string,
  definition: unknown,
  contract: RuleContract,
  where: string,
): CompiledRule {
  registerExtraOperations();
  if (!isPlainObject(definition) || !("logic" in definition)) {
    throw new RuleError(
      `${where}: a rule must be an object with a "logic" field holding a JSON-Logic expression.`,
    );
  }
  const logic = definition.logic;
  checkLogic(logic, "logic", contract, where);
  const evaluate = (variables: RuleVariables): number | boolean => {
    for (const v of contract.variables) {
      if (!(v in variables)) throw new RuleError(`${where}: evaluated without variable "${v}".`);
    }
    const value = jsonLogic.apply(logic as RulesLogic<AdditionalOperation>, variables) as unknown;
    return checkResult(value, contract, where, variables);
  };
  // Prove the result type on representative inputs now, not at 3 a.m. during a retry.
  for (const sample of contract.samples) evaluate(sample);
  return { name, contract, evaluate };
}

/**
 * Validates a `rules` object against the rules the caller needs: each required rule must exist,
 * and a rule nobody uses is rejected as a likely typo.
 */
export function compileRules(
  rules: unknown,
  contracts: Readonly<Record<string, RuleContract>>,
  where: string,
): Record<string, CompiledRule> {
  if (!isPlainObject(rules)) {
    throw new RuleError(`${where}: $.rules must be an object mapping rule names to {"logic": ...}.`);
  }
  const compiled: Record<string, CompiledRule> = {};
  for (const [name, contract] of Object.entries(contracts)) {
    if (!(name in rules)) {
      throw new RuleError(
        `${where}: $.rules.${name} is missing; the lifecycle needs it (${contract.result} from ${
          contract.variables.join(", ") || "no variables"
        }).`,
      );
    }
    compiled[name] = compileRule(name, rules[name], contract, `${where} $.rules.${name}`);
  }
  for (const name of Object.keys(rules)) {
    if (!(name in contracts)) {
      throw new RuleError(
        `${where}: $.rules.${name} is not a rule the lifecycle uses. Known rules: ${Object.keys(contracts).join(", ")}.`,
      );
    }
  }
  return compiled;
}
