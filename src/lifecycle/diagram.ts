// Renders the machine files as Mermaid state diagrams plus a readable list of every transition,
// timer and rule — docs/machines.md is generated from the JSON so it cannot drift from it (a unit
// test regenerates it and fails when the committed file is stale).
import { basename } from "node:path";
import type { ActionRefJson, LoadedMachine, StateJson, TransitionJson, TransitionsJson } from "./loader.js";

interface Edge {
  from: string;
  to: string;
  trigger: string;
  guard?: string;
  actions: string[];
  stays: boolean;
}

const INVOKE_EVENTS = { onDone: "done", onError: "error" } as const;

function actionNames(actions: ActionRefJson | ActionRefJson[] | undefined): string[] {
  if (actions === undefined) return [];
  return (Array.isArray(actions) ? actions : [actions]).map((a) => {
    if (typeof a === "string") return a;
    const params = a.params ? Object.values(a.params).map(String).join(", ") : "";
    return params ? `${a.type}(${params})` : a.type;
  });
}

function toList(t: TransitionsJson): TransitionJson[] {
  return (Array.isArray(t) ? t : [t]).map((x) => (typeof x === "string" ? { target: x } : x));
}

/** Every transition a machine can make, with its trigger; `stays` edges keep the state. */
export function edgesOf(m: LoadedMachine): Edge[] {
  const edges: Edge[] = [];
  const states = m.definition.machine.states;
  const timerOf = (state: StateJson): string | undefined => {
    const entry = state.entry === undefined ? [] : Array.isArray(state.entry) ? state.entry : [state.entry];
    for (const a of entry) if (typeof a !== "string" && a.type === "armTimer") return String(a.params?.delay);
    return undefined;
  };
  const push = (from: string, trigger: string, t: TransitionJson, reentryTarget?: string) => {
    const to = t.target?.replace(/^\./, "") ?? reentryTarget ?? from;
    // A transition to its own state without `reenter` neither exits nor enters it (XState v5): it stays.
    const stays = t.target === undefined || (to === from && t.reenter !== true);
    const edge: Edge = { from, to, trigger, actions: actionNames(t.actions), stays };
    if (t.guard) edge.guard = t.guard;
    edges.push(edge);
  };
  for (const [name, state] of Object.entries(states)) {
    for (const [event, t] of Object.entries(state.on ?? {})) {
      const timer = timerOf(state) ?? (event === "RETRY_DUE" ? "retryDelay" : undefined);
      const trigger = event === "RETRY_DUE" && timer ? `RETRY_DUE (after ${timer})` : event;
      for (const x of toList(t)) push(name, trigger, x);
    }
    if (state.invoke) {
      for (const key of ["onDone", "onError"] as const) {
        const t = state.invoke[key];
        if (t !== undefined)
          for (const x of toList(t)) push(name, `${INVOKE_EVENTS[key]}(${state.invoke.src})`, x);
      }
    }
  }
  // Machine-level transitions apply in every state that does not handle the event itself.
  for (const [event, t] of Object.entries(m.definition.machine.on ?? {})) {
    for (const [name, state] of Object.entries(states)) {
      if (state.type === "final" || state.on?.[event] !== undefined) continue;
      for (const x of toList(t)) {
        if (x.target?.replace(/^\./, "") === name) continue;
        push(name, event, x);
      }
    }
  }
  return edges;
}

function label(e: Edge): string {
  let text = e.trigger;
  if (e.guard) text += ` [${e.guard}]`;
  if (e.stays) text += " (stays)";
  return text;
}

function mermaid(m: LoadedMachine): string {
  const lines = ["```mermaid", "stateDiagram-v2"];
  const def = m.definition.machine;
  lines.push(`  [*] --> ${def.initial}`);
  for (const e of edgesOf(m)) lines.push(`  ${e.from} --> ${e.to}: ${label(e).replace(/:/g, " ")}`);
  for (const [name, state] of Object.entries(def.states)) {
    if (state.type === "final") lines.push(`  ${name} --> [*]`);
  }
  lines.push("```");
  return lines.join("\n");
}

function ruleSamples(m: LoadedMachine): string[] {
  const lines: string[] = [];
  const retry = m.rules.retryDelayMs;
  const exhausted = m.rules.retriesExhausted;
  const recheck = m.rules.failedRecheckDelayMs;
  if (retry && exhausted) {
    const rows: string[] = [];
    for (let attempts = 1; attempts <= 12; attempts++) {
      if (exhausted.evaluate({ attempts }) === true) {
        rows.push(`failure ${attempts}: retries exhausted, Failed`);
        break;
      }
      const low = retry.evaluate({ attempts, random: 0, progressing: false }) as number;
      const high = retry.evaluate({ attempts, random: 0.999999, progressing: false }) as number;
      rows.push(`after failure ${attempts}: ${seconds(low)}–${seconds(high)}`);
    }
    lines.push(`- Retry delays: ${rows.join("; ")}.`);
    const low = retry.evaluate({ attempts: 0, random: 0, progressing: true }) as number;
    const high = retry.evaluate({ attempts: 0, random: 0.999999, progressing: true }) as number;
    lines.push(`- While progressing (no attempt counted): every ${seconds(low)}–${seconds(high)}.`);
  }
  if (recheck) {
    const low = recheck.evaluate({ attempts: 0, random: 0 }) as number;
    const high = recheck.evaluate({ attempts: 0, random: 0.999999 }) as number;
    lines.push(`- Failed re-check delay: ${seconds(low)}–${seconds(high)}.`);
  }
  return lines;
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

function section(m: LoadedMachine): string {
  const file = `machines/${basename(m.file)}`;
  const def = m.definition;
  const out: string[] = [`## ${def.kind} (\`${file}\`)`, ""];
  if (def.description) out.push(def.description, "");
  out.push(`Waits for: ${def.dependency}.`, "", mermaid(m), "", "### States", "");
  for (const [name, state] of Object.entries(def.machine.states)) {
    const tags = state.tags?.length ? ` Tags: ${state.tags.map((t) => `\`${t}\``).join(", ")}.` : "";
    out.push(`- **${name}**${state.description ? `: ${state.description}` : ""}${tags}`);
  }
  out.push(
    "",
    "### Transitions",
    "",
    "In order of evaluation; the first transition whose guard passes is taken.",
    "",
  );
  for (const e of edgesOf(m)) {
    const guard = e.guard ? ` if \`${e.guard}\`` : "";
    const target = e.stays ? "stays" : `→ ${e.to}`;
    const actions = e.actions.length > 0 ? `; actions: ${e.actions.map((a) => `\`${a}\``).join(", ")}` : "";
    out.push(`- ${e.from}: \`${e.trigger}\`${guard} ${target}${actions}`);
  }
  out.push("", "### Rules (JSON-Logic)", "");
  for (const [name, rule] of Object.entries(def.rules)) {
    const r = rule as { description?: string; logic: unknown };
    out.push(
      `- \`${name}\`${r.description ? `: ${r.description}` : ""} Logic: \`${JSON.stringify(r.logic)}\``,
    );
  }
  out.push("", "Timers (durable: the deadline is stored in `status.nextAttemptAt`):", "");
  for (const [name, d] of Object.entries(def.delays)) out.push(`- \`${name}\` = rule \`${d.rule}\``);
  out.push("", "Resulting delays:", "", ...ruleSamples(m), "");
  return out.join("\n");
}

/** The whole docs/machines.md for the given machines (sorted by kind for a stable output). */
export function renderMachinesMarkdown(machines: Iterable<LoadedMachine>): string {
  const sorted = [...machines].sort((a, b) => a.kind.localeCompare(b.kind));
  const head = [
    "# Lifecycle machines",
    "",
    "<!-- Generated from machines/*.json by `npx tsx src/cli.ts machines diagram --out docs/machines.md`. Do not edit. -->",
    "",
    "Each kind's lifecycle is an XState v5 statechart kept as data in `machines/`. Guards run before",
    "any side effect: `policyDenied` reads the policy decision computed for this reconcile,",
    "`dependencyNotReady` the readiness of the object the resource needs. `RECONCILE` is sent on every",
    "reconcile; `RETRY_DUE` when the deadline stored in `status.nextAttemptAt` has passed; `DELETE` once",
    "the resource is being deleted. `done`/`error` are the outcomes of the side effects (`provision`,",
    "`teardown`); errors are transient (retried with backoff) or permanent (Failed).",
    "",
  ];
  return [...head, ...sorted.map(section)].join("\n").replace(/\n+$/, "\n");
}
