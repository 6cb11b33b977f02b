import { describe, expect, it } from "vitest";
import { metricSum } from "./prometheusText.js";

const page = [
  "# HELP kpo_keycloak_requests_total Requests",
  "# TYPE kpo_keycloak_requests_total counter",
  'kpo_keycloak_requests_total{instance="a/kc",method="GET",code="2xx"} 12',
  'kpo_keycloak_requests_total{instance="a/kc",method="PUT",code="2xx"} 3',
  'kpo_keycloak_requests_total{instance="b/kc",method="POST",code="409"} 1',
  'kpo_keycloak_token_requests_total{instance="a/kc"} 2',
  "leader_election_master_status 1",
].join("\n");

describe("metricSum", () => {
  it("given label filters, then it sums only the matching samples of that metric", () => {
    expect(metricSum(page, "kpo_keycloak_requests_total")).toBe(16);
    expect(metricSum(page, "kpo_keycloak_requests_total", { method: /^(PUT|POST)$/ })).toBe(4);
    expect(metricSum(page, "kpo_keycloak_requests_total", { instance: "a/kc", code: "2xx" })).toBe(15);
    expect(metricSum(page, "kpo_keycloak_token_requests_total")).toBe(2);
  });

  it("given a metric without labels or an absent one, then it reads the value or zero", () => {
    expect(metricSum(page, "leader_election_master_status")).toBe(1);
    expect(metricSum(page, "no_such_metric")).toBe(0);
  });
});
