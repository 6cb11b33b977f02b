// Lifecycle metrics: kpo_machine_transitions_total{kind,from,to}, one increment per state change a machine
// makes, and the load counter and revision of the hot-reloaded machine set.
import { Counter } from "prom-client";
import { registeredOnce, reloadMetrics } from "../observability/metrics.js";
import { edgesOf } from "./diagram.js";
import type { LoadedMachine } from "./loader.js";
import { resumedPhase } from "./status.js";
import type { LifecyclePhase } from "./types.js";

export const machineTransitions = registeredOnce(
  "kpo_machine_transitions_total",
  () =>
    new Counter({
      name: "kpo_machine_transitions_total",
      help: "State transitions of the lifecycle machines, by resource kind and from/to state.",
      labelNames: ["kind", "from", "to"] as const,
    }),
);

export function countTransition(kind: string, from: string, to: string): void {
  machineTransitions.inc({ kind, from, to });
}

/**
 * Creates every series the machines can produce at zero, so dashboards and rate() see them from the
 * start: each transition of the diagram, and the resume of a phase stored mid-side-effect.
 */
export function initTransitions(machines: Iterable<LoadedMachine>): void {
  for (const m of machines) {
    for (const { from, to } of edgesOf(m))
      if (from !== to) machineTransitions.inc({ kind: m.kind, from, to }, 0);
    for (const from of Object.keys(m.definition.machine.states)) {
      const to = resumedPhase(from as LifecyclePhase);
      if (to !== from) machineTransitions.inc({ kind: m.kind, from, to }, 0);
    }
  }
}

/** Machine set load attempts at start-up and on every changed --machines directory. */
export const { loadsTotal: machinesLoadsTotal, info: machinesInfo } = reloadMetrics(
  {
    name: "kpo_machines_loads_total",
    help: "Lifecycle machine set load attempts: success (swapped in) or failure (refused, the last good machines keep running)",
  },
  { name: "kpo_machines_info", help: "The active lifecycle machine set revision (value 1)" },
);
