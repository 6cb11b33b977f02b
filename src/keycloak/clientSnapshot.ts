// One read of a realm's clients shared by every client of that realm. A resync of an unchanged world
// used to find each client by clientId (one GET per client per period); Keycloak's client list
// (`GET /admin/realms/{realm}/clients`, paged) returns the same full representations, secrets
// included for a caller allowed to manage clients, so one paged list per realm serves them all.
//
// What keeps drift repair correct:
// - a snapshot is used only while younger than `maxAgeMs`: a change made in Keycloak by hand is seen
//   by the first reconcile after the next list, at most `maxAgeMs` later than without the snapshot;
// - every write this connection makes (the operator's own, which the snapshot would not show)
//   invalidates the snapshot of that realm, or of every realm when the write names none; a list
//   that was in flight during a write is discarded too;
// - a client missing from the snapshot is looked up directly (someone may have created it since),
//   so the snapshot can only ever answer "here it is", never "it does not exist".
// The list itself is fetched at most once per `maxAgeMs` per realm, by the first reader that needs
// it (the others wait for the same list). While writes keep invalidating it (a create pass), readers
// look clients up one by one, as before, instead of listing the realm again for each.
// A snapshot past nine tenths of its age is listed again in the background on the next read, while it still
// serves: a pass over a large realm (a restart at 10,000 clients takes longer than the age) then
// never waits for a list after the first. A list that fails answers nothing: its waiters look their
// clients up directly (the reconcile does not fail because a shared list did), the failure is logged,
// and a read may list again after a pause counted from the failure: 2 s, doubling with each failure
// in a row up to the max age (a whole max age at once would leave every reader of the realm to look
// its client up by itself; no pause would list a struggling Keycloak again and again). While the
// last list failed, readers do not wait for the next one: they look up directly meanwhile.
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { loggerFor } from "../observability/logger.js";
import { systemClock, type Clock } from "./clock.js";

/**
 * The share of its max age after which a read also lists the realm again in the background: late
 * enough to add few lists to a pass (each is one more request per realm per age), early enough that
 * the list is back before the old one expires: a page of 1000 clients takes well under a second, and
 * the margin is a tenth of the age (6 s at the default 10-minute resync period).
 */
const REFRESH_AT = 0.9;

/** After a failed list, the pause before a reader may list the realm again (doubled per failure in a row). */
const RETRY_AFTER_FAILURE_MS = 2_000;

const log = loggerFor("keycloak-snapshot");

export interface ClientSnapshotOptions {
  /** How long a list may serve reads; 0 turns the snapshot off. */
  maxAgeMs: number;
  /** Clients per page of the list; default 1000 (a realm of up to 1000 clients is one request). */
  pageSize?: number;
  clock?: Clock;
}

/** How the snapshot reads one page: a counted, rate-limited GET made by the caller's session. */
export type ReadPage = (
  what: string,
  fn: (admin: KeycloakAdminClient) => Promise<ClientRepresentation[]>,
) => Promise<ClientRepresentation[]>;

interface RealmSnapshot {
  /** Bumped by every write to the realm. */
  writes: number;
  /** When the last list was started (ms), whether or not it could be used: lists are spaced by it. */
  listedAt: number;
  /** The clients by clientId, valid while `writes` equals `validAtWrites` and young enough. */
  clients?: Map<string, ClientRepresentation>;
  /** When the list that produced `clients` was started (their age counts from then). */
  takenAt?: number;
  validAtWrites?: number;
  listing?: Promise<void>;
  /** Lists failed in a row: the next may start after a pause from the last failure, not the usual spacing. */
  failures: number;
  /** When the last list failed (ms). */
  failedAt?: number;
}

export class RealmClientSnapshots {
  readonly #maxAgeMs: number;
  readonly #pageSize: number;
  readonly #clock: Clock;
  readonly #realms = new Map<string, RealmSnapshot>();

  constructor(options: ClientSnapshotOptions) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#pageSize = options.pageSize ?? 1000;
    this.#clock = options.clock ?? systemClock;
  }

  get enabled(): boolean {
    return this.#maxAgeMs > 0;
  }

  /** A write to `realm` (or, without a realm, to any): what was listed may no longer be true. */
  invalidate(realm?: string): void {
    if (realm === undefined) {
      for (const snapshot of this.#realms.values()) this.#invalidate(snapshot);
      return;
    }
    const snapshot = this.#realms.get(realm);
    if (snapshot) this.#invalidate(snapshot);
  }

  /**
   * The client from a usable snapshot of its realm (listing the realm first if it is due), or
   * undefined: then the caller looks it up directly.
   */
  async lookup(realm: string, clientId: string, read: ReadPage): Promise<ClientRepresentation | undefined> {
    if (!this.enabled) return undefined;
    let snapshot = this.#realms.get(realm);
    if (!snapshot) {
      snapshot = { writes: 0, listedAt: Number.NEGATIVE_INFINITY, failures: 0 };
      this.#realms.set(realm, snapshot);
    }
    const now = this.#clock.now();
    const mayList = (usualSpacing: number) =>
      !snapshot.listing &&
      (snapshot.failures > 0
        ? now - (snapshot.failedAt ?? 0) >= this.#retryPause(snapshot.failures)
        : now - snapshot.listedAt >= usualSpacing);
    if (this.#usable(snapshot)) {
      const due = this.#maxAgeMs * REFRESH_AT;
      if (now - (snapshot.takenAt ?? 0) >= due && mayList(due)) this.#startList(realm, snapshot, read);
    } else {
      snapshot.clients = undefined; // expired or invalidated: nothing in it may be served
      if (mayList(this.#maxAgeMs)) this.#startList(realm, snapshot, read);
      if (snapshot.listing && snapshot.failures === 0) await snapshot.listing;
    }
    return this.#usable(snapshot) ? snapshot.clients?.get(clientId) : undefined;
  }

  #retryPause(failures: number): number {
    return Math.min(this.#maxAgeMs, RETRY_AFTER_FAILURE_MS * 2 ** Math.min(failures - 1, 20));
  }

  /** Starts a list; it settles without an error (a failed list leaves the readers to look up directly). */
  #startList(realm: string, snapshot: RealmSnapshot, read: ReadPage): void {
    snapshot.listing = this.#list(realm, snapshot, read)
      .then(
        () => {
          snapshot.failures = 0;
        },
        (err: unknown) => {
          if (snapshot.failures === 0)
            log.warn(
              { realm, err: err instanceof Error ? err.message : String(err) },
              `listing the clients of realm "${realm}" failed; its clients are looked up one by one until a list succeeds`,
            );
          snapshot.failures++;
          snapshot.failedAt = this.#clock.now();
        },
      )
      .finally(() => {
        snapshot.listing = undefined;
      });
  }

  #usable(snapshot: RealmSnapshot): boolean {
    return (
      snapshot.clients !== undefined &&
      snapshot.validAtWrites === snapshot.writes &&
      this.#clock.now() - (snapshot.takenAt ?? Number.NEGATIVE_INFINITY) < this.#maxAgeMs
    );
  }

  #invalidate(snapshot: RealmSnapshot): void {
    snapshot.writes++;
    snapshot.clients = undefined;
  }

  async #list(realm: string, snapshot: RealmSnapshot, read: ReadPage): Promise<void> {
    const writesAtStart = snapshot.writes;
    const startedAt = this.#clock.now();
    snapshot.listedAt = startedAt;
    const clients = new Map<string, ClientRepresentation>();
    for (let first = 0; ; first += this.#pageSize) {
      const max = this.#pageSize;
      const page = await read(`list clients of realm "${realm}" (from ${first})`, (kc) =>
        kc.clients.find({ realm, first, max }),
      );
      for (const c of page) if (c.clientId) clients.set(c.clientId, c);
      if (page.length < max) break;
    }
    // A write while listing: some pages may predate it. Discard; readers look up directly.
    if (snapshot.writes !== writesAtStart) return;
    snapshot.clients = clients;
    snapshot.validAtWrites = writesAtStart;
    // Its age counts from when it was asked for: what it shows is at least that recent.
    snapshot.takenAt = startedAt;
  }
}
