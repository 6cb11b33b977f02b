// Reading numbers back out of a /metrics page (Prometheus text format): what tests and benchmarks
// use to count the operator's Keycloak writes, reconciles and leadership from outside the process.

/** Sum of a metric's samples whose labels match all of `labels` (exact string or pattern). */
export function metricSum(text: string, name: string, labels: Record<string, string | RegExp> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labelText = match[1] ?? "";
    const ok = Object.entries(labels).every(([k, v]) => {
      const m = new RegExp(`(?:^|,)${k}="([^"]*)"`).exec(labelText);
      return m !== null && (typeof v === "string" ? m[1] === v : v.test(m[1] ?? ""));
    });
    if (ok) sum += Number(match[2]);
  }
  return sum;
}
