// The rotation rules over an in-memory Secret store with resourceVersion preconditions (the real
// API server is in test/integration/admissionWebhook.test.ts).
import { ApiException, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { certificateFacts, splitPemBundle, type KeyPairPem } from "./certificates.js";
import { SECRET_KEYS, ServingCertificate } from "./servingCertificate.js";

const DAY = 86_400_000;

/** One Secret, versioned like the API server does it: a stale replace is a 409. */
function secretStore() {
  let stored: V1Secret | undefined;
  let version = 0;
  const conflict = (code: number) => new ApiException(code, "conflict", {}, {});
  const api = {
    readNamespacedSecret: () =>
      stored ? Promise.resolve(structuredClone(stored)) : Promise.reject(conflict(404)),
    createNamespacedSecret: ({ body }: { body: V1Secret }) => {
      if (stored) return Promise.reject(conflict(409));
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(structuredClone(stored));
    },
    replaceNamespacedSecret: ({ body }: { body: V1Secret }) => {
      if (stored?.metadata?.resourceVersion !== body.metadata?.resourceVersion)
        return Promise.reject(conflict(409));
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(structuredClone(stored));
    },
  };
  const data = (key: string) => Buffer.from(stored?.data?.[key] ?? "", "base64").toString("utf8");
  return { api: api as unknown as CoreV1Api, data, writes: () => version };
}

function manager(
  store: ReturnType<typeof secretStore>,
  now: { t: number },
  loaded: KeyPairPem[],
  manage = true,
) {
  return new ServingCertificate({
    core: store.api,
    secret: { namespace: "kpo-system", name: "webhook-tls" },
    manage,
    names: ["kpo-webhook.kpo-system.svc"],
    validityMs: 30 * DAY,
    now: () => new Date(now.t),
    onCertificate: (pair) => loaded.push(pair),
  });
}

describe("ServingCertificate", () => {
  it("Given no Secret, when synced, then it issues a certificate for the names, trusted by a bundle of current and next CA", async () => {
    const store = secretStore();
    const loaded: KeyPairPem[] = [];
    await manager(store, { t: Date.now() }, loaded).sync();
    expect(loaded).toHaveLength(1);
    expect(certificateFacts(loaded[0]!.cert)?.names).toEqual(["kpo-webhook.kpo-system.svc"]);
    expect(splitPemBundle(store.data(SECRET_KEYS.caBundle))).toEqual([
      store.data(SECRET_KEYS.currentCa),
      store.data(SECRET_KEYS.nextCa),
    ]);
  });

  it("Given a certificate, when time passes, then it is kept until a third of its life is left, and then the next CA signs its successor", async () => {
    const store = secretStore();
    const now = { t: Date.now() };
    const loaded: KeyPairPem[] = [];
    const m = manager(store, now, loaded);
    await m.sync();
    const firstCurrent = store.data(SECRET_KEYS.currentCa);
    const firstNext = store.data(SECRET_KEYS.nextCa);

    now.t += 19 * DAY;
    await m.sync();
    expect(store.writes()).toBe(1);
    expect(loaded).toHaveLength(1);

    now.t += 2 * DAY; // 9 of 30 days left
    await m.sync();
    expect(store.writes()).toBe(2);
    expect(loaded).toHaveLength(2);
    expect(store.data(SECRET_KEYS.currentCa)).toBe(firstNext);
    expect(store.data(SECRET_KEYS.previousCa)).toBe(firstCurrent);
    expect(certificateFacts(loaded[1]!.cert)?.issuer).toBe(certificateFacts(firstNext)?.issuer);
    expect(splitPemBundle(store.data(SECRET_KEYS.caBundle))).toEqual([
      firstNext,
      store.data(SECRET_KEYS.nextCa),
      firstCurrent,
    ]);
    expect(certificateFacts(loaded[1]!.cert)!.notAfter.getTime()).toBeGreaterThan(now.t + 29 * DAY);
  });

  it("Given two replicas rotating at once, when both sync, then one writes and both serve its certificate", async () => {
    const store = secretStore();
    const now = { t: Date.now() };
    const a: KeyPairPem[] = [];
    const b: KeyPairPem[] = [];
    await Promise.all([manager(store, now, a).sync(), manager(store, now, b).sync()]);
    expect(store.writes()).toBe(1);
    expect(a.at(-1)?.cert).toBe(store.data(SECRET_KEYS.cert));
    expect(b.at(-1)?.cert).toBe(store.data(SECRET_KEYS.cert));
  });

  it("Given cert-manager's Secret, when synced, then it is only read, and a missing one is an error", async () => {
    const store = secretStore();
    const loaded: KeyPairPem[] = [];
    await expect(manager(store, { t: Date.now() }, loaded, false).sync()).rejects.toThrow("does not exist");
    await manager(store, { t: Date.now() }, []).sync();
    const writes = store.writes();
    await manager(store, { t: Date.now() + 25 * DAY }, loaded, false).sync();
    expect(store.writes()).toBe(writes);
    expect(loaded).toHaveLength(1);
  });
});
