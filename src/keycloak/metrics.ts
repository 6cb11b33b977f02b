// Keycloak-call metrics on prom-client's default registry (served by /metrics). Created once per
// process: a second registration of the same name would throw, so an existing one is reused.
import { Counter, Gauge, register } from "prom-client";

function counter(name: string, help: string, labelNames: string[]): Counter {
  const existing = register.getSingleMetric(name);
  return existing instanceof Counter ? existing : new Counter({ name, help, labelNames });
}

function gauge(name: string, help: string, labelNames: string[]): Gauge {
  const existing = register.getSingleMetric(name);
  return existing instanceof Gauge ? existing : new Gauge({ name, help, labelNames });
}

/**
 * Requests sent to Keycloak. `code` is the HTTP status, `2xx` for a success (the admin client does
 * not expose the exact success status), or `error` when no HTTP answer came back (network error,
 * timeout). Requests refused by an open circuit are not sent and not counted here.
 */
export const keycloakRequestsTotal = counter(
  "kpo_keycloak_requests_total",
  "Requests sent to Keycloak, by instance, HTTP method and response code",
  ["instance", "method", "code"],
);

/** Token endpoint requests (also counted above as POST): lets a reader tell writes from logins. */
export const keycloakTokenRequestsTotal = counter(
  "kpo_keycloak_token_requests_total",
  "Requests to Keycloak's token endpoint for an admin token, by instance",
  ["instance"],
);

/** Requests refused locally because the instance's circuit was open. */
export const keycloakCircuitRejectionsTotal = counter(
  "kpo_keycloak_circuit_rejections_total",
  "Requests to Keycloak not sent because the instance's circuit breaker was open",
  ["instance"],
);

/** 0 = closed, 1 = open, 2 = half-open. */
export const keycloakCircuitState = gauge(
  "kpo_keycloak_circuit_state",
  "Circuit breaker state per Keycloak instance (0 closed, 1 open, 2 half-open)",
  ["instance"],
);
