// Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm and timing
// (k8s.io/client-go/tools/leaderelection): only the leader reconciles; a standby takes over when
// the leader releases the lease on shutdown or stops renewing it (crash, partition) and the lease
// expires.
//
// Expiry is judged by the local clock from the moment this process last *observed* the lease
// record change, not by the renewTime written in it, so clock skew between nodes does not matter.
// Writes use the lease's resourceVersion (optimistic concurrency): two candidates racing for an
// expired lease cannot both win.
import type { KubeConfig } from "@kubernetes/client-node";
import { loggerFor, type Logger } from "../observability/logger.js";
import { leaderElectionMasterStatus } from "../observability/metrics.js";
import { apiMessageOf, noAnswerReasonOf, requestJson, statusCodeOf } from "./apiRequest.js";

export type StoppedLeadingReason = "lost" | "released";

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease name; also the `name` label of leader_election_master_status. */
  name: string;
  /** Unique per process, e.g. the pod name plus a random suffix. */
  identity: string;
  /** How long a lease is valid after the last observed renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** The leader gives up if it cannot renew within this long. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Give the lease up on stop() so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean;
  /** Called when this process becomes leader; the signal aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called when leadership ends: lost (renewal failed; stop reconciling now) or released (stop()). */
  onStoppedLeading?: (reason: StoppedLeadingReason) => void;
  /** Called when the observed leader changes (including to this process). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** A MicroTime in the RFC 3339 form with microseconds that the API server expects. */
function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

const JITTER = 1.2;

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, "onStoppedLeading" | "onNewLeader" | "logger">> &
    Pick<LeaderElectionOptions, "onStoppedLeading" | "onNewLeader">;
  readonly #log: Logger;
  readonly #path: string;
  #observed: { record: string; at: number; resourceVersion?: string; holder?: string } | undefined;
  #leader = false;
  #stopping = false;
  #release = true;
  #wake: (() => void) | undefined;
  #leading: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #reportedLeader: string | undefined;
  /** Why the last acquire or renew attempt did not succeed, for the lost-leadership log line. */
  #lastFailure: string | undefined;

  constructor(options: LeaderElectionOptions) {
    const o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      ...options,
    };
    // The same invariants client-go enforces: otherwise a healthy leader could lose its lease
    // between two renewals.
    if (!(o.leaseDurationMs > o.renewDeadlineMs)) {
      throw new Error(
        `leader election ${o.name}: leaseDuration (${o.leaseDurationMs} ms) must exceed renewDeadline (${o.renewDeadlineMs} ms)`,
      );
    }
    if (!(o.renewDeadlineMs > JITTER * o.retryPeriodMs)) {
      throw new Error(
        `leader election ${o.name}: renewDeadline (${o.renewDeadlineMs} ms) must exceed ${JITTER} x retryPeriod (${o.retryPeriodMs} ms)`,
      );
    }
    if (!o.identity) throw new Error(`leader election ${o.name}: identity must not be empty`);
    this.#o = o;
    this.#log =
      options.logger ??
      loggerFor("leader-election", { lease: `${o.namespace}/${o.name}`, identity: o.identity });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`;
    // inc by 0 creates the series without overwriting another elector's value for the same lease.
    leaderElectionMasterStatus.inc({ name: o.name }, 0);
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** Start campaigning in the background. Resolves at once; see onStartedLeading. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run().catch((err: unknown) => {
      this.#log.error({ err }, "leader election loop failed unexpectedly");
    });
  }

  /**
   * Stop campaigning or leading. With release (the default, unless releaseOnCancel is false) the
   * lease is handed back so a standby takes over at once; `{release: false}` leaves it to expire,
   * as a crashed process would.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#release = opts.release ?? this.#o.releaseOnCancel;
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    this.#log.info("campaigning for leadership");
    while (!this.#stopping) {
      if (await this.#tryAcquireOrRenew()) break;
      await this.#sleep(this.#o.retryPeriodMs * (1 + Math.random() * (JITTER - 1)));
    }
    if (this.#stopping) return;

    this.#setLeader(true);
    this.#leading = new AbortController();
    this.#log.info("became leader");
    try {
      this.#o.onStartedLeading(this.#leading.signal);
    } catch (err) {
      this.#log.error({ err }, "onStartedLeading threw");
    }

    let lastRenew = performance.now();
    let lost = false;
    while (!this.#stopping) {
      await this.#sleep(this.#o.retryPeriodMs);
      if (this.#stopping) break;
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = performance.now();
      } else if (performance.now() - lastRenew >= this.#o.renewDeadlineMs) {
        lost = true;
        break;
      }
    }

    if (!lost && this.#release) await this.#releaseLease();
    this.#setLeader(false);
    this.#leading.abort(new Error(`leadership of lease ${this.#o.namespace}/${this.#o.name} ended`));
    if (lost)
      this.#log.error(
        { renewDeadlineMs: this.#o.renewDeadlineMs },
        `lost leadership: could not renew the lease within ${this.#o.renewDeadlineMs} ms ` +
          `(last attempt: ${this.#lastFailure ?? "unknown"}); stopping reconciles`,
      );
    else this.#log.info({ released: this.#release }, "stopped leading");
    try {
      this.#o.onStoppedLeading?.(lost ? "lost" : "released");
    } catch (err) {
      this.#log.error({ err }, "onStoppedLeading threw");
    }
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    leaderElectionMasterStatus.set({ name: this.#o.name }, leader ? 1 : 0);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Per-request timeout: a hung API server must not block the renew loop past its deadline. */
  get #requestTimeoutMs(): number {
    return Math.max(1000, this.#o.retryPeriodMs);
  }

  #request(req: Parameters<typeof requestJson>[1]): Promise<unknown> {
    return requestJson(this.#o.kubeConfig, { ...req, signal: AbortSignal.timeout(this.#requestTimeoutMs) });
  }

  /**
   * What went wrong with one lease request, for the log. Only a 403 points at RBAC: a request that
   * timed out or could not connect says so, since a stalled or unreachable API server is not fixed by
   * editing a Role.
   */
  #describeFailure(doing: string, method: string, err: unknown): string {
    const what = `${doing} lease ${this.#o.namespace}/${this.#o.name} (${method})`;
    const noAnswer = noAnswerReasonOf(err);
    if (noAnswer === "timed out")
      return `${what} timed out: the API server did not answer within ${this.#requestTimeoutMs} ms`;
    if (noAnswer !== undefined) return `${what} got no answer from the API server: ${noAnswer}`;
    const status = statusCodeOf(err);
    if (status === 403)
      return `${what} was forbidden: ${apiMessageOf(err)}; check RBAC for leases (get, create, update) in namespace ${this.#o.namespace}`;
    if (status === 401)
      return `${what} was refused: ${apiMessageOf(err)}; the API server does not accept the operator's credentials`;
    return `${what} failed: ${apiMessageOf(err)}`;
  }

  #observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity,
      spec.renewTime,
      spec.acquireTime,
      spec.leaseDurationSeconds,
      spec.leaseTransitions,
    ]);
    if (this.#observed?.record !== record) {
      this.#observed = { record, at: performance.now(), holder: spec.holderIdentity };
    }
    this.#observed.resourceVersion = lease.metadata.resourceVersion;
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#log.info({ leader: holder }, "observed leader");
      try {
        this.#o.onNewLeader?.(holder);
      } catch (err) {
        this.#log.error({ err }, "onNewLeader threw");
      }
    }
  }

  /** One attempt, as client-go's tryAcquireOrRenew. True when this process holds the lease after it. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = microTime();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = (await this.#request({ path: `${this.#path}/${encodeURIComponent(this.#o.name)}` })) as Lease;
    } catch (err) {
      if (statusCodeOf(err) !== 404) {
        this.#lastFailure = this.#describeFailure("reading", "GET", err);
        this.#log.warn(`${this.#lastFailure}; retrying`);
        return false;
      }
      try {
        const created = (await this.#request({
          method: "POST",
          path: this.#path,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: {
              holderIdentity: this.#o.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        })) as Lease;
        this.#observe(created);
        return true;
      } catch (createErr) {
        // 409: another candidate created it first; it is the leader for now.
        this.#lastFailure = this.#describeFailure("creating", "POST", createErr);
        if (statusCodeOf(createErr) !== 409) this.#log.warn(`${this.#lastFailure}; retrying`);
        return false;
      }
    }

    this.#observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const observedAt = this.#observed?.at ?? performance.now();
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const held = holder !== "" && holder !== this.#o.identity;
    if (held && observedAt + leaseMs > performance.now()) {
      this.#lastFailure = `lease ${this.#o.namespace}/${this.#o.name} is held by ${holder}`;
      return false;
    }

    const iAmHolder = holder === this.#o.identity;
    const next: LeaseSpec = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: iAmHolder ? (spec.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: iAmHolder ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      const updated = (await this.#request({
        method: "PUT",
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
        // resourceVersion makes this a compare-and-swap: a concurrent writer gets 409, not a split brain.
        body: { ...lease, spec: next },
      })) as Lease;
      this.#observe(updated);
      if (!iAmHolder) this.#log.info({ previous: holder || "(none)" }, "acquired lease");
      return true;
    } catch (err) {
      // 409: someone else wrote the lease since it was read; the next attempt reads it again.
      this.#lastFailure = this.#describeFailure(iAmHolder ? "renewing" : "acquiring", "PUT", err);
      if (statusCodeOf(err) !== 409) this.#log.warn(`${this.#lastFailure}; retrying`);
      return false;
    }
  }

  /** Hand the lease back (client-go ReleaseOnCancel): empty holder, 1 s duration. Only if still ours. */
  async #releaseLease(): Promise<void> {
    let method = "GET";
    try {
      const lease = (await this.#request({
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
      })) as Lease;
      if (lease.spec?.holderIdentity !== this.#o.identity) return;
      const now = microTime();
      method = "PUT";
      await this.#request({
        method: "PUT",
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
          },
        },
      });
      this.#log.info("released lease");
    } catch (err) {
      this.#log.warn(
        `${this.#describeFailure("releasing", method, err)}; a standby takes over when the lease expires`,
      );
    }
  }
}
