import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import type { Clock } from "./clock.js";
import { RealmClientSnapshots, type ReadPage } from "./clientSnapshot.js";

/** A realm's clients served by a fake admin client's `clients.find`, counting the pages read. */
function fakeRealm(clientIds: string[]) {
  const clients: ClientRepresentation[] = clientIds.map((clientId, i) => ({ id: `id-${i}`, clientId }));
  const reads: Array<{ first: number; max: number }> = [];
  let pending: Array<() => void> | undefined;
  const admin = {
    clients: {
      find: async ({ first, max }: { first: number; max: number }) => {
        reads.push({ first, max });
        if (pending) await new Promise<void>((resolve) => pending?.push(resolve));
        return clients.slice(first, first + max).map((c) => ({ ...c }));
      },
    },
  } as unknown as KeycloakAdminClient;
  const read: ReadPage = (_what, fn) => fn(admin);
  return {
    clients,
    reads,
    read,
    /** Hold every page read until `release()`. */
    hold: () => {
      pending = [];
    },
    release: () => {
      const waiting = pending ?? [];
      pending = undefined;
      for (const resolve of waiting) resolve();
    },
  };
}

function clock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: () => Promise.resolve(),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe("RealmClientSnapshots", () => {
  it("Given 2,400 clients in a realm, When each is looked up, Then the realm is listed once in pages of 1000 and every lookup is served from it", async () => {
    const realm = fakeRealm(Array.from({ length: 2400 }, (_, i) => `c${i}`));
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: clock() });
    const found = await Promise.all(
      realm.clients.map((c) => snapshots.lookup("shop", c.clientId ?? "", realm.read)),
    );
    expect(found.map((c) => c?.clientId)).toEqual(realm.clients.map((c) => c.clientId));
    expect(realm.reads).toEqual([
      { first: 0, max: 1000 },
      { first: 1000, max: 1000 },
      { first: 2000, max: 1000 },
    ]);
  });

  it("Given a listed realm, When a client is not in the list, Then the lookup says nothing (the caller asks Keycloak)", async () => {
    const realm = fakeRealm(["web"]);
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: clock() });
    expect(await snapshots.lookup("shop", "web", realm.read)).toBeDefined();
    expect(await snapshots.lookup("shop", "created-since", realm.read)).toBeUndefined();
    expect(realm.reads).toHaveLength(1);
  });

  it("Given a listed realm, When it is older than the max age, Then the next lookup lists it again and sees a change made by hand", async () => {
    const realm = fakeRealm(["web"]);
    const time = clock();
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: time });
    await snapshots.lookup("shop", "web", realm.read);
    realm.clients[0]!.enabled = false;
    time.advance(59_999);
    expect((await snapshots.lookup("shop", "web", realm.read))?.enabled).toBeUndefined();
    time.advance(1);
    expect((await snapshots.lookup("shop", "web", realm.read))?.enabled).toBe(false);
    expect(realm.reads).toHaveLength(2);
  });

  it("Given a listed realm, When the operator writes to it, Then lookups stop using the list until it is due again, and another realm's list still serves", async () => {
    const shop = fakeRealm(["web"]);
    const blog = fakeRealm(["cms"]);
    const time = clock();
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: time });
    await snapshots.lookup("shop", "web", shop.read);
    await snapshots.lookup("blog", "cms", blog.read);
    snapshots.invalidate("shop");
    expect(await snapshots.lookup("shop", "web", shop.read)).toBeUndefined();
    expect(await snapshots.lookup("blog", "cms", blog.read)).toBeDefined();
    // Not listed again before its max age: a create pass writes constantly and must not list per client.
    expect(shop.reads).toHaveLength(1);
    time.advance(60_000);
    expect(await snapshots.lookup("shop", "web", shop.read)).toBeDefined();
    expect(shop.reads).toHaveLength(2);
  });

  it("Given a list in flight, When the operator writes to the realm meanwhile, Then that list is not used", async () => {
    const realm = fakeRealm(["web"]);
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: clock() });
    realm.hold();
    const lookup = snapshots.lookup("shop", "web", realm.read);
    await new Promise((r) => setImmediate(r));
    snapshots.invalidate();
    realm.release();
    expect(await lookup).toBeUndefined();
  });

  it("Given a snapshot past nine tenths of its age, When a client is looked up, Then it is served at once and the realm is listed again in the background", async () => {
    const realm = fakeRealm(["web"]);
    const time = clock();
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: time });
    await snapshots.lookup("shop", "web", realm.read);
    time.advance(53_999);
    expect(await snapshots.lookup("shop", "web", realm.read)).toBeDefined();
    expect(realm.reads).toHaveLength(1);
    time.advance(1);
    realm.clients[0]!.enabled = false;
    realm.hold();
    // Served from the old list while the new one is held: no reader waits for it.
    expect((await snapshots.lookup("shop", "web", realm.read))?.enabled).toBeUndefined();
    expect((await snapshots.lookup("shop", "web", realm.read))?.enabled).toBeUndefined();
    expect(realm.reads).toHaveLength(2);
    realm.release();
    await new Promise((r) => setImmediate(r));
    // The refreshed list serves a full age from when it was started.
    time.advance(59_000);
    expect((await snapshots.lookup("shop", "web", realm.read))?.enabled).toBe(false);
    expect(realm.reads).toHaveLength(3); // past nine tenths of its age again: one more background list
  });

  it("Given a list that fails, When clients wait for it, Then each is answered 'not listed' (looked up directly), not with the error", async () => {
    const time = clock();
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: time });
    let calls = 0;
    const failing: ReadPage = () => {
      calls++;
      return Promise.reject(new Error("request timed out"));
    };
    const answers = await Promise.all(["a", "b", "c"].map((id) => snapshots.lookup("shop", id, failing)));
    expect(answers).toEqual([undefined, undefined, undefined]);
    expect(calls).toBe(1);
    // Not listed again at once, but after a short pause, not a whole max age.
    expect(await snapshots.lookup("shop", "a", failing)).toBeUndefined();
    expect(calls).toBe(1);
    time.advance(1_999);
    await snapshots.lookup("shop", "a", failing);
    expect(calls).toBe(1);
    time.advance(1);
    await snapshots.lookup("shop", "a", failing);
    expect(calls).toBe(2);
  });

  it("Given a background refresh that fails, When the old list expires, Then the next reader lists again without waiting for it, and the readers after it are served", async () => {
    const time = clock();
    const realm = fakeRealm(["web", "api"]);
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 60_000, clock: time });
    expect((await snapshots.lookup("shop", "web", realm.read))?.id).toBe("id-0");
    let failNext = true;
    const flaky: ReadPage = (what, fn) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("request timed out"));
      }
      return realm.read(what, fn);
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    time.advance(55_000); // past nine tenths: a background refresh starts, and fails
    expect((await snapshots.lookup("shop", "web", flaky))?.id).toBe("id-0"); // the old list still serves
    await settle();
    time.advance(6_000); // the old list has expired; the pause after the failure (2 s) is over
    realm.hold();
    // The list after a failure may fail too: the reader looks its client up directly instead of waiting.
    expect(await snapshots.lookup("shop", "api", flaky)).toBeUndefined();
    expect(realm.reads).toHaveLength(2);
    realm.release();
    await settle();
    expect((await snapshots.lookup("shop", "api", flaky))?.id).toBe("id-1");
    expect(realm.reads).toHaveLength(2); // the first list and the one after the failure
  });

  it("Given lists that keep failing, When readers keep coming, Then the pause between attempts doubles from the last failure, up to the max age", async () => {
    const time = clock();
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 10_000, clock: time });
    const started: number[] = [];
    const failed: number[] = [];
    // Each list takes 1 s to fail (a timeout on a struggling Keycloak).
    const failing: ReadPage = () => {
      started.push(time.now());
      time.advance(1_000);
      failed.push(time.now());
      return Promise.reject(new Error("request timed out"));
    };
    for (let t = 0; t < 40_000; t += 500) {
      await snapshots.lookup("shop", "web", failing);
      await new Promise((resolve) => setImmediate(resolve));
      time.advance(500);
    }
    const pauses = started.slice(1).map((at, i) => (at - (failed[i] ?? 0)) / 1000);
    // 2 s, 4 s, 8 s, then the max age (10 s), each counted from the failure before.
    expect(pauses.slice(0, 5)).toEqual([2, 4, 8, 10, 10]);
  });

  it("Given max age 0, When a client is looked up, Then nothing is listed", async () => {
    const realm = fakeRealm(["web"]);
    const snapshots = new RealmClientSnapshots({ maxAgeMs: 0 });
    expect(await snapshots.lookup("shop", "web", realm.read)).toBeUndefined();
    expect(realm.reads).toHaveLength(0);
  });
});
