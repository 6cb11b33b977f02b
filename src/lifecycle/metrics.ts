// kpo_machine_transitions_total{kind,from,to}: one increment per state change a machine makes.
import { Counter, register } from "prom-client";

const NAME = "kpo_machine_transitions_total";

function counter(): Counter<"kind" | "from" | "to"> {
  // Reuse the registered metric if this module is evaluated twice (tests, hot reload).
  const existing = register.getSingleMetric(NAME);
  if (existing) return existing as Counter<"kind" | "from" | "to">;
  return new Counter({
    name: NAME,
    help: "State transitions of the lifecycle machines, by resource kind and from/to state.",
    labelNames: ["kind", "from", "to"] as const,
  });
}

export const machineTransitions = counter();

export function countTransition(kind: string, from: string, to: string): void {
  machineTransitions.inc({ kind, from, to });
}

/** Creates every series a machine can produce at zero, so dashboards and rate() see them from the start. */
export function initTransitions(kind: string, edges: Iterable<{ from: string; to: string }>): void {
  for (const { from, to } of edges) machineTransitions.inc({ kind, from, to }, 0);
}
