/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-explicit-any -- these tests break machine documents in place by JSON path, on purpose */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ResourceKind } from "../policy/decision.js";
import {
  loadMachineDefinition,
  loadMachineFile,
  loadMachines,
  MachineDefinitionError,
  type LoadedMachine,
} from "./loader.js";
import { phaseFactsOf, type PhaseFactsSource } from "./phases.js";
import { PHASES } from "./types.js";

const REALM_FILE = new URL("../../machines/realm.json", import.meta.url).pathname;
const FILE = "machines/realm.json";

/** A fresh, valid realm machine document to break in one place. */
function realmDoc(): Record<string, any> {
  return loadMachineFile(REALM_FILE, FILE).definition;
}
const clone = (): Record<string, any> => structuredClone(realmDoc());

function rejection(doc: unknown): string {
  try {
    loadMachineDefinition(doc, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(MachineDefinitionError);
    return (error as Error).message;
  }
  throw new Error("expected the machine to be rejected");
}

describe("loadMachines", () => {
  it("Given the repository's machine files, When loaded, Then one validated machine per kind comes back", () => {
    const machines = loadMachines();
    expect([...machines.keys()].sort()).toEqual([
      "KeycloakClient",
      "KeycloakInstance",
      "KeycloakRealm",
      "KeycloakUser",
    ]);
    for (const m of machines.values())
      expect([...m.timerStates].sort()).toEqual(["Degraded", "Deleting", "Failed"]);
  });
});

describe("loadMachineDefinition rejects bad references, naming the file and the JSON path", () => {
  it("Given an unknown guard, Then the message names it and the known guards", () => {
    const doc = clone();
    doc.machine.states.Pending.on.RECONCILE[1].guard = "policyDenid";
    const message = rejection(doc);
    expect(message).toContain(
      `${FILE}: $.machine.states.Pending.on.RECONCILE[1].guard: unknown guard "policyDenid"`,
    );
    expect(message).toContain("policyDenied");
  });

  it("Given an unknown action, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Ready.on.RECONCILE[2].actions = ["recordPolicyAdmited"];
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Ready.on.RECONCILE[2].actions[0]: unknown action "recordPolicyAdmited"`,
    );
  });

  it("Given an unknown actor, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Provisioning.invoke.src = "provisionRealm";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Provisioning.invoke.src: unknown actor "provisionRealm"`,
    );
  });

  it("Given an unknown delay, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Degraded.entry[0].params.delay = "backoff";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Degraded.entry[0].params.delay: unknown delay "backoff"`,
    );
  });

  it("Given a delay bound to an unknown rule, Then the message names it", () => {
    const doc = clone();
    doc.delays.retryDelay.rule = "retryDelay";
    expect(rejection(doc)).toContain(`${FILE}: $.delays.retryDelay.rule: unknown rule "retryDelay"`);
  });

  it("Given an unknown target state, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Provisioning.invoke.onDone.target = "Done";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Provisioning.invoke.onDone.target: unknown target state "Done"`,
    );
  });

  it("Given an unknown event, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Ready.on.RESYNC = "Provisioning";
    expect(rejection(doc)).toContain(`${FILE}: $.machine.states.Ready.on.RESYNC: unknown event "RESYNC"`);
  });

  it("Given a state nothing leads to, Then it is reported unreachable", () => {
    const doc = clone();
    doc.machine.states.Provisioning.invoke.onError[1].target = "Failed";
    doc.machine.states.Provisioning.invoke.onError[3].target = "Failed";
    doc.machine.states.Ready.on.RECONCILE[0].target = "Failed";
    doc.machine.states.Failed.on.RETRY_DUE[0].target = "Failed";
    doc.machine.states.Failed.on.RECONCILE[1].target = "Failed";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Degraded: state Degraded is unreachable from "Pending"`,
    );
  });

  it("Given an XState `after` timer, Then it is refused because it would not survive a restart", () => {
    const doc = clone();
    doc.machine.states.Degraded.after = { retryDelay: "Provisioning" };
    const message = rejection(doc);
    expect(message).toContain(`${FILE}: $.machine.states.Degraded.after: unexpected field "after"`);
    expect(message).toContain("armTimer");
  });

  it("Given a state that arms a timer but ignores RETRY_DUE, Then the dropped wake-up is reported", () => {
    const doc = clone();
    delete doc.machine.states.Degraded.on.RETRY_DUE;
    expect(rejection(doc)).toContain(`${FILE}: $.machine.states.Degraded.on.RETRY_DUE: missing`);
  });

  it("Given a missing required state, Then the message lists the required states", () => {
    const doc = clone();
    delete doc.machine.states.Deleted;
    expect(rejection(doc)).toContain(`${FILE}: $.machine.states.Deleted: missing`);
  });

  it("Given a rule with an unknown operator, Then the message names the file and the rule path", () => {
    const doc = clone();
    doc.rules.retriesExhausted.logic = { atLeast: [{ var: "attempts" }, 6] };
    expect(rejection(doc)).toContain(
      `${FILE}: $.rules: ${FILE} $.rules.retriesExhausted: logic uses unknown operator "atLeast"`,
    );
  });

  it("Given a rule reading a variable that is not supplied, Then the message names the variable", () => {
    const doc = clone();
    doc.rules.failedRecheckDelayMs.logic = { "*": [{ var: "generation" }, 60000] };
    expect(rejection(doc)).toMatch(
      /\$\.rules\.failedRecheckDelayMs: logic\.\*\[0\] reads variable "generation"/,
    );
  });

  it("Given a file that is not JSON, Then the message names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kpo-machines-"));
    const path = join(dir, "broken.json");
    writeFileSync(path, "{ not json");
    expect(() => loadMachineFile(path, "machines/broken.json")).toThrow(
      /^machines\/broken\.json: \$: not valid JSON/,
    );
  });
});

describe("one chart for every kind", () => {
  const MACHINES = new URL("../../machines/", import.meta.url).pathname;
  const chartOf = (): Record<string, any> =>
    JSON.parse(readFileSync(join(MACHINES, "lifecycle.chart.json"), "utf8")) as Record<string, any>;
  const paramsOf = (kind: string): Record<string, any> =>
    JSON.parse(readFileSync(join(MACHINES, `${kind}.json`), "utf8")) as Record<string, any>;
  function loadWith(chart: unknown, params: unknown): LoadedMachine {
    const dir = mkdtempSync(join(tmpdir(), "kpo-chart-"));
    writeFileSync(join(dir, "lifecycle.chart.json"), JSON.stringify(chart));
    writeFileSync(join(dir, "kind.json"), JSON.stringify(params));
    return loadMachineFile(join(dir, "kind.json"), "machines/kind.json");
  }

  it("Given the kinds' parameter files, When loaded, Then every kind runs the same states with its own id, rules and descriptions", () => {
    const machines = [...loadMachines().values()];
    const names = machines.map((m) => Object.keys(m.definition.machine.states).join(","));
    expect(new Set(names).size).toBe(1);
    expect(machines.map((m) => m.definition.machine.id).sort()).toEqual([
      "client",
      "instance",
      "realm",
      "user",
    ]);
    const realm = machines.find((m) => m.kind === "KeycloakRealm") as LoadedMachine;
    expect(realm.definition.machine.states.Pending?.description).toContain("realm");
  });

  it("Given the blockedTeardown branch, Then the instance and the realm wait on a blocked teardown and the client does not", () => {
    const machines = loadMachines();
    const blocked = (kind: ResourceKind) =>
      JSON.stringify(machines.get(kind)?.definition.machine.states.Deleting?.invoke?.onError).includes(
        "isBlocked",
      );
    expect(blocked("KeycloakInstance")).toBe(true);
    expect(blocked("KeycloakRealm")).toBe(true);
    expect(blocked("KeycloakClient")).toBe(false);
  });

  it("Given the shared rules, When a kind is loaded, Then its constants fill them and the description shows the values", () => {
    const realm = loadWith(chartOf(), paramsOf("realm"));
    const { retryDelayMs, retriesExhausted } = realm.rules;
    // 5 s base doubling: attempt 3 is 20 s, times the jitter factor 0.75 at random 0.5.
    expect(retryDelayMs?.evaluate({ attempts: 3, random: 0.5, progressing: false })).toBe(15_000);
    expect(retryDelayMs?.evaluate({ attempts: 20, random: 0.5, progressing: false })).toBe(225_000);
    expect(retriesExhausted?.evaluate({ attempts: 5 })).toBe(false);
    expect(retriesExhausted?.evaluate({ attempts: 6 })).toBe(true);
    expect(JSON.stringify(realm.definition.rules.retryDelayMs)).toContain(
      "(retryBaseDelayMs = 5000, retryMaxDelayMs = 300000)",
    );
  });

  it("Given a kind's own rule, When loaded, Then it replaces the chart's and that rule's constants may stay", () => {
    const params = { ...paramsOf("client"), rules: { retryDelayMs: { logic: 42 } } };
    expect(
      loadWith(chartOf(), params).rules.retryDelayMs?.evaluate({
        attempts: 1,
        random: 0,
        progressing: false,
      }),
    ).toBe(42);
  });

  it("Given a missing or a misspelled constant, Then the kind's file and the constant are named", () => {
    const constants = paramsOf("realm").constants as Record<string, number>;
    const { maxAttempts: _dropped, ...rest } = constants;
    expect(() => loadWith(chartOf(), { ...paramsOf("realm"), constants: rest })).toThrow(
      /machines\/kind\.json: \$\.constants\.maxAttempts: the chart's rule at \$\.rules\.retriesExhausted\.logic.* needs the constant "maxAttempts"/,
    );
    const typo = { ...constants, maxAttempt: 3 };
    expect(() => loadWith(chartOf(), { ...paramsOf("realm"), constants: typo })).toThrow(
      /\$\.constants\.maxAttempt: no rule of the chart uses the constant "maxAttempt"/,
    );
  });

  it("Given a parameter file naming a branch the chart lacks, Then the message names it and the chart's branches", () => {
    const params = { ...paramsOf("realm"), branches: ["blockedTeardwn"] };
    expect(() => loadWith(chartOf(), params)).toThrow(
      'machines/kind.json: $.branches[0]: unknown branch "blockedTeardwn". The chart\'s branches: blockedTeardown.',
    );
  });

  it("Given a chart using an unknown chain, Then the chart file and the path are named", () => {
    const chart = chartOf();
    chart.machine.states.Ready.on.RECONCILE = { chain: "admision" };
    expect(() => loadWith(chart, paramsOf("realm"))).toThrow(
      'machines/lifecycle.chart.json: $.machine.states.Ready.on.RECONCILE.chain: unknown chain "admision"',
    );
  });

  it("Given a chart whose filled-in machine is invalid, Then the kind's file is named, and the chart too", () => {
    const chart = chartOf();
    chart.steps.deny.guard = "policyDenid";
    expect(() => loadWith(chart, paramsOf("client"))).toThrow(
      /^machines\/kind\.json: \$\.machine\.states\.Pending\.on\.RECONCILE\[1\]\.guard: unknown guard "policyDenid".*machines\/lifecycle\.chart\.json/,
    );
  });
});

describe("state tags and meta", () => {
  it("Given an unknown tag, Then the message names it and the known tags", () => {
    const doc = clone();
    doc.machine.states.Ready.tags = ["resync"];
    const message = rejection(doc);
    expect(message).toContain(`${FILE}: $.machine.states.Ready.tags[0]: unknown tag "resync"`);
    expect(message).toContain("resyncs");
  });

  it("Given a resumesAs that is no state, Then the message names it", () => {
    const doc = clone();
    doc.machine.states.Provisioning.meta.resumesAs = "Waiting";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Provisioning.meta.resumesAs: unknown state "Waiting"`,
    );
  });

  it("Given the chart, When its phase facts are read, Then they say what the code used to spell by name", () => {
    const facts = phaseFactsOf(realmDoc() as PhaseFactsSource);
    expect(PHASES.filter((p) => facts.hasTag(p, "resyncs"))).toEqual(["Ready"]);
    expect(PHASES.filter((p) => facts.hasTag(p, "countsAsUpdate"))).toEqual(["Ready", "Degraded"]);
    expect(PHASES.filter((p) => facts.hasTag(p, "usableDependency"))).toEqual(["Ready", "Degraded"]);
    expect(PHASES.filter((p) => facts.hasTag(p, "reconciling"))).toEqual([
      "Pending",
      "Provisioning",
      "Degraded",
      "Deleting",
    ]);
    expect(PHASES.map((p) => facts.resumedPhase(p))).toEqual([
      "Pending",
      "Pending",
      "Ready",
      "Degraded",
      "Failed",
      "Deleting",
      "Deleted",
    ]);
    expect(PHASES.filter((p) => facts.isFinal(p))).toEqual(["Deleted"]);
    expect(facts.hasTag(undefined, "ready")).toBe(false);
  });
});

describe("the machine document's structure is a JSON Schema", () => {
  it("Given a misspelt transition field, Then the schema refuses it and lists the allowed fields", () => {
    const doc = clone();
    doc.machine.states.Pending.on.RECONCILE[1].gaurd = "policyDenied";
    expect(rejection(doc)).toContain(
      `${FILE}: $.machine.states.Pending.on.RECONCILE[1].gaurd: unexpected field "gaurd". Allowed fields: target, guard, actions, reenter, description.`,
    );
  });

  it("Given a field of the wrong type, Then the message names the path and the expected type", () => {
    const doc = clone();
    doc.machine.states.Deleting.on.DELETE.reenter = "yes";
    expect(rejection(doc)).toContain(`${FILE}: $.machine.states.Deleting.on.DELETE.reenter: must be boolean`);
  });

  it("Given a side effect without an onDone, Then the missing field is named", () => {
    const doc = clone();
    delete doc.machine.states.Provisioning.invoke.onDone;
    expect(rejection(doc)).toContain(`${FILE}: $.machine.states.Provisioning.invoke.onDone: missing`);
  });

  it("Given an unknown top-level field, Then it is refused", () => {
    const doc = clone();
    doc.timers = {};
    expect(rejection(doc)).toContain(`${FILE}: $.timers: unexpected field "timers"`);
  });
});

describe("the parameter and chart files have schemas too", () => {
  const MACHINES = new URL("../../machines/", import.meta.url).pathname;
  const read = (name: string): Record<string, any> =>
    JSON.parse(readFileSync(join(MACHINES, name), "utf8")) as Record<string, any>;
  function load(chart: unknown, params: unknown): () => LoadedMachine {
    const dir = mkdtempSync(join(tmpdir(), "kpo-chart-"));
    writeFileSync(join(dir, "lifecycle.chart.json"), JSON.stringify(chart));
    writeFileSync(join(dir, "kind.json"), JSON.stringify(params));
    return () => loadMachineFile(join(dir, "kind.json"), "machines/kind.json");
  }

  it("Given a parameter file without branches, Then the missing field is named in that file", () => {
    const params = read("client.json");
    delete params.branches;
    expect(load(read("lifecycle.chart.json"), params)).toThrow("machines/kind.json: $.branches: missing");
  });

  it("Given a parameter file naming a chart that is not a *.chart.json, Then it is refused", () => {
    const params = { ...read("realm.json"), chart: "realm.json" };
    expect(load(read("lifecycle.chart.json"), params)).toThrow(
      /^machines\/kind\.json: \$\.chart: must match pattern/,
    );
  });

  it("Given a chain that is not a list, Then the chart file and the path are named", () => {
    const chart = read("lifecycle.chart.json");
    chart.chains.admission = "waitForDependency";
    expect(load(chart, read("realm.json"))).toThrow(
      "machines/lifecycle.chart.json: $.chains.admission: must be array",
    );
  });
});
