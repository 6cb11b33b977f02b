// docs/reference/metrics.md is generated from the metrics the process registers, so the reference
// cannot drift from the code: every module that defines metrics is imported here. It lives beside
// its generator (gen-metrics.ts) because it reaches into every layer; src/observability/ stays the
// bottom layer and imports none of them.
import { register, type MetricObject } from "prom-client";
import "../src/admission/metrics.js";
import "../src/keycloak/metrics.js";
import "../src/lifecycle/metrics.js";
import "../src/policy/metrics.js";
import "../src/observability/metrics.js";

interface Described {
  name: string;
  help: string;
  type: string;
  labelNames: string[];
}

function describe(metric: MetricObject): Described {
  const m = metric as unknown as { name: string; help: string; type?: string; labelNames?: string[] };
  const type = m.type ?? metric.constructor.name.toLowerCase();
  return { name: m.name, help: m.help, type, labelNames: [...(m.labelNames ?? [])] };
}

/** The Markdown reference of every kpo metric (process and Node.js default metrics excluded). */
export function metricsReference(): string {
  const rows = register
    .getMetricsAsArray()
    .map(describe)
    .filter((m) => !m.name.startsWith("process_") && !m.name.startsWith("nodejs_"))
    .sort((a, b) => a.name.localeCompare(b.name));
  const lines = [
    "# Metrics reference",
    "",
    "Generated from the code by `npm run gen:metrics`; a unit test fails when it is stale.",
    "Served on `/metrics` of the health address (`--health-bind-address`), with Node.js process metrics.",
    "Names shared with controller-runtime and client-go keep their meaning, so existing dashboards work.",
    "",
    "| metric | type | labels | meaning |",
    "| --- | --- | --- | --- |",
    ...rows.map(
      (m) =>
        `| \`${m.name}\` | ${m.type} | ${m.labelNames.map((l) => `\`${l}\``).join(", ") || "—"} | ${m.help.replace(/\|/g, "\\|")} |`,
    ),
    "",
  ];
  return lines.join("\n");
}
