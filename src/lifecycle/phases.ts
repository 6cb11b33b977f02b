// What a phase means, read from the lifecycle chart (machines/lifecycle.chart.json) instead of
// compared by name: its state tags ("resyncs", "countsAsUpdate", "usableDependency", ...), its
// meta (`resumesAs`) and the chart's error reasons. Code outside src/lifecycle/ asks these helpers
// (or a snapshot's hasTag) and never spells a phase; a unit test keeps it that way.
//
// The stored phase of another object (a dependency, a resource counted by a quota) has no
// snapshot, so the facts come from the installation's chart, read once. The loader validates the
// same chart at start-up (every tag known, every resumesAs a state) before anything reads it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MACHINES_DIR, LIFECYCLE_CHART } from "./paths.js";
import { PHASES, type LifecyclePhase } from "./types.js";

/** Every state tag the code reads, and what it means. */
export const LIFECYCLE_TAGS = [
  /** The Ready condition is True. */
  "ready",
  /** Come back after the resync period, so drift made in Keycloak directly is repaired. */
  "resyncs",
  /** Was admitted and provisioned: quotas treat the resource as an update, not a create. */
  "countsAsUpdate",
  /** A dependent may use it (Degraded worked and backs off on its own). */
  "usableDependency",
  /** The Reconciling condition is True. */
  "reconciling",
  /** The Stalled condition is True. */
  "stalled",
  /** The teardown runs; deletion cannot be undone. */
  "deleting",
] as const;
export type LifecycleTag = (typeof LIFECYCLE_TAGS)[number];

/** The parts of a chart these helpers read. */
export interface PhaseFactsSource {
  errorReasons?: readonly string[];
  machine: {
    states: Record<string, { tags?: readonly string[]; meta?: { resumesAs?: string }; type?: string }>;
  };
}

export interface PhaseFacts {
  hasTag(phase: string | undefined, tag: LifecycleTag): boolean;
  /** The phase a stored phase resumes in (a crash leaves no running side effect to resume). */
  resumedPhase(phase: LifecyclePhase): LifecyclePhase;
  /** The final phase: reaching it releases the finalizer. */
  isFinal(phase: string | undefined): boolean;
  errorReasons: ReadonlySet<string>;
}

const isPhase = (value: unknown): value is LifecyclePhase =>
  typeof value === "string" && (PHASES as readonly string[]).includes(value);

export function phaseFactsOf(chart: PhaseFactsSource): PhaseFacts {
  const states = chart.machine.states;
  return {
    hasTag: (phase, tag) => phase !== undefined && (states[phase]?.tags ?? []).includes(tag),
    resumedPhase: (phase) => {
      const to = states[phase]?.meta?.resumesAs;
      return isPhase(to) ? to : phase;
    },
    isFinal: (phase) => phase !== undefined && states[phase]?.type === "final",
    errorReasons: new Set(chart.errorReasons ?? []),
  };
}

let installed: PhaseFacts | undefined;

/** The facts of the installation's chart (read on first use). */
export function phaseFacts(): PhaseFacts {
  installed ??= phaseFactsOf(
    JSON.parse(readFileSync(join(DEFAULT_MACHINES_DIR, LIFECYCLE_CHART), "utf8")) as PhaseFactsSource,
  );
  return installed;
}

/** Does the stored phase carry this tag in the installation's chart? */
export const phaseHasTag = (phase: string | undefined, tag: LifecycleTag): boolean =>
  phaseFacts().hasTag(phase, tag);
