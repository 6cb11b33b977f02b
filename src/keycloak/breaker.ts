// A circuit breaker per Keycloak instance. When Keycloak is down, every reconcile of every realm
// and client on it would otherwise keep hammering it (and the work queue would retry each one):
// after `failureThreshold` consecutive transient failures the breaker opens and requests fail fast
// with CircuitOpenError (itself transient, so resources go Degraded and retry later). After
// `cooldownMs` one probe request is let through (half-open); its success closes the breaker, its
// failure opens it for another cool-down.
import { systemClock, type Clock } from "./clock.js";
import { CircuitOpenError } from "./errors.js";

export type CircuitState = "closed" | "open" | "half-open";

/** Gauge encoding of the state (kpo_keycloak_circuit_state). */
export const circuitStateValue: Record<CircuitState, number> = { closed: 0, open: 1, "half-open": 2 };

export interface BreakerConfig {
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a probe is allowed. */
  cooldownMs: number;
}

export const defaultBreakerConfig: BreakerConfig = { failureThreshold: 5, cooldownMs: 30_000 };

export class CircuitBreaker {
  readonly #instance: string;
  readonly #config: BreakerConfig;
  readonly #clock: Clock;
  readonly #onStateChange: (state: CircuitState) => void;
  #state: CircuitState = "closed";
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probeInFlight = false;

  constructor(
    instance: string,
    config: BreakerConfig = defaultBreakerConfig,
    clock: Clock = systemClock,
    onStateChange: (state: CircuitState) => void = () => undefined,
  ) {
    if (!(config.failureThreshold >= 1) || !(config.cooldownMs >= 0)) {
      throw new Error(
        `Invalid circuit breaker for ${instance} (failureThreshold=${config.failureThreshold}, ` +
          `cooldownMs=${config.cooldownMs}): failureThreshold must be >= 1 and cooldownMs >= 0`,
      );
    }
    this.#instance = instance;
    this.#config = config;
    this.#clock = clock;
    this.#onStateChange = onStateChange;
    onStateChange("closed");
  }

  get state(): CircuitState {
    return this.#state;
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onStateChange(state);
  }

  /**
   * Asks to send one request. Throws CircuitOpenError when the circuit is open, or half-open with
   * its single probe already in flight. Returns true when this request is the half-open probe. The
   * caller reports the outcome with `onSuccess` or `onFailure`, and a probe that ended without
   * telling anything about Keycloak's health (e.g. failed before it was sent) with `onNeutral`.
   */
  admit(): boolean {
    if (this.#state === "closed") return false;
    const retryAt = this.#openedAt + this.#config.cooldownMs;
    if (this.#state === "open") {
      if (this.#clock.now() < retryAt) throw new CircuitOpenError(this.#instance, retryAt);
      this.#set("half-open");
    }
    if (this.#probeInFlight)
      throw new CircuitOpenError(this.#instance, this.#clock.now() + this.#config.cooldownMs);
    this.#probeInFlight = true;
    return true;
  }

  /** Keycloak answered (any status that is not a server-side failure). */
  onSuccess(): void {
    this.#consecutiveFailures = 0;
    this.#probeInFlight = false;
    this.#set("closed");
  }

  /** A transient failure: network error, timeout, 5xx, 429. */
  onFailure(): void {
    this.#consecutiveFailures += 1;
    const wasProbe = this.#probeInFlight;
    this.#probeInFlight = false;
    if (
      wasProbe ||
      this.#state === "half-open" ||
      this.#consecutiveFailures >= this.#config.failureThreshold
    ) {
      this.#openedAt = this.#clock.now();
      this.#set("open");
    }
  }

  /** The probe ended without telling anything: let the next request probe instead. */
  onNeutral(): void {
    this.#probeInFlight = false;
  }
}
