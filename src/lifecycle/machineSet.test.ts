import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { register } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { LoadedMachine } from "./loader.js";
import { createMachineSet, incompatibility, type MachineSet } from "./machineSet.js";
import { DEFAULT_MACHINES_DIR } from "./paths.js";

const sets: MachineSet[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of sets.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyOfMachines(): string {
  const dir = mkdtempSync(join(tmpdir(), "kpo-machines-"));
  cpSync(DEFAULT_MACHINES_DIR, dir, { recursive: true });
  dirs.push(dir);
  return dir;
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
  return { logger, lines };
}

function machineSet(dir: string, logger = capture().logger): MachineSet {
  const s = createMachineSet({ dir, logger });
  sets.push(s);
  return s;
}

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

const HOUR = 3_600_000;
type RealmFile = {
  constants: Record<string, unknown>;
  rules?: Record<string, { logic: unknown }>;
  [k: string]: unknown;
};
/** Base and cap an hour: the first retry (attempts 1, random 0.5) waits 0.75 h. */
const retuneBackoff = (d: RealmFile) => {
  d.constants.retryBaseDelayMs = HOUR;
  d.constants.retryMaxDelayMs = HOUR;
};
function editRealm(dir: string, edit: (doc: RealmFile) => void): void {
  const path = join(dir, "realm.json");
  const doc = JSON.parse(readFileSync(path, "utf8")) as RealmFile;
  edit(doc);
  writeFileSync(path, JSON.stringify(doc, null, 2));
}

const retryDelayMs = (s: MachineSet) =>
  s.get("KeycloakRealm").rules.retryDelayMs?.evaluate({ attempts: 1, random: 0.5, progressing: false });

describe("createMachineSet", () => {
  it("Given unchanged files, when reloaded, then nothing is swapped and no load is counted", async () => {
    const s = machineSet(copyOfMachines());
    const before = await metricValue("kpo_machines_loads_total", { result: "success" });
    expect(await s.reload()).toBe(false);
    expect(await metricValue("kpo_machines_loads_total", { result: "success" })).toBe(before);
  });

  it("Given retuned backoff constants, when reloaded, then the next get() returns the new machine and the revision and counters follow", async () => {
    const dir = copyOfMachines();
    const s = machineSet(dir);
    const oldMachine = s.get("KeycloakRealm");
    const oldRevision = s.revision;
    const loaded = await metricValue("kpo_machines_loads_total", { result: "success" });
    editRealm(dir, retuneBackoff);

    expect(await s.reload()).toBe(true);
    expect(s.revision).not.toBe(oldRevision);
    expect(s.get("KeycloakRealm")).not.toBe(oldMachine);
    expect(retryDelayMs(s)).toBe(0.75 * HOUR);
    expect(await metricValue("kpo_machines_loads_total", { result: "success" })).toBe(loaded + 1);
    expect(await metricValue("kpo_machines_info", { revision: s.revision })).toBe(1);
    expect(await metricValue("kpo_machines_info", { revision: oldRevision })).toBe(0);
  });

  it("Given a broken file, when reloaded, then it is refused with a log line naming the file, counted once, and the last good machines keep running", async () => {
    const dir = copyOfMachines();
    const { logger, lines } = capture();
    const s = machineSet(dir, logger);
    const good = s.get("KeycloakRealm");
    const revision = s.revision;
    const refused = await metricValue("kpo_machines_loads_total", { result: "failure" });
    editRealm(dir, (d) => (d.rules = { retryDelayMs: { logic: { noSuchOperator: [1] } } }));

    expect(await s.reload()).toBe(false);
    expect(s.get("KeycloakRealm")).toBe(good);
    expect(s.revision).toBe(revision);
    expect(await metricValue("kpo_machines_loads_total", { result: "failure" })).toBe(refused + 1);
    const error = lines.find((l) => l.level === 50);
    expect(error?.msg).toMatch(/lifecycle machines refused: .*realm\.json/);
    expect(error?.msg).toContain(`revision ${revision} keeps running`);

    // The periodic re-check sees the same bad files: no second alarm.
    expect(await s.reload()).toBe(false);
    expect(await metricValue("kpo_machines_loads_total", { result: "failure" })).toBe(refused + 1);

    // Fixed (a kind's own rule replaces the chart's): swapped in.
    editRealm(dir, (d) => (d.rules = { retryDelayMs: { logic: HOUR } }));
    expect(await s.reload()).toBe(true);
    expect(retryDelayMs(s)).toBe(HOUR);
  });

  it("Given a file that is not JSON, when reloaded, then it is refused and the last good machines keep running", async () => {
    const dir = copyOfMachines();
    const { logger, lines } = capture();
    const s = machineSet(dir, logger);
    const good = s.get("KeycloakClient");
    writeFileSync(join(dir, "client.json"), "{ not json");
    expect(await s.reload()).toBe(false);
    expect(s.get("KeycloakClient")).toBe(good);
    expect(lines.find((l) => l.level === 50)?.file).toMatch(/client\.json$/);
  });

  it("Given a machine that no longer has a state resources may be stored in, when checked against the active one, then it is incompatible", () => {
    const machine = (file: string, states: string[]) =>
      ({
        file,
        definition: { machine: { states: Object.fromEntries(states.map((st) => [st, {}])) } },
      }) as unknown as LoadedMachine;
    const active = new Map([
      ["KeycloakRealm" as const, machine("realm.json", ["Pending", "Ready", "Failed"])],
    ]);

    expect(
      incompatibility(
        active,
        new Map([["KeycloakRealm", machine("realm.json", ["Pending", "Ready", "Failed", "Extra"])]]),
      ),
    ).toBeUndefined();
    const removed = incompatibility(
      active,
      new Map([["KeycloakRealm", machine("realm.json", ["Pending", "Ready"])]]),
    );
    expect(removed?.file).toBe("realm.json");
    expect(removed?.detail).toContain("no longer has state Failed");
    expect(incompatibility(active, new Map())?.detail).toContain("no machine defines kind KeycloakRealm");
  });
});
