import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { KeycloakInstance } from "../api/index.js";
import { defaultLimiterConfig } from "../keycloak/index.js";
import { ConnectionPool } from "./connections.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A CoreV1Api that serves one admin Secret and counts its reads. */
function fakeCore(password: { value: string }) {
  const reads: string[] = [];
  const core = {
    readNamespacedSecret: ({ name, namespace }: { name: string; namespace: string }) => {
      reads.push(`${namespace}/${name}`);
      const secret: V1Secret = {
        metadata: { name, namespace },
        data: { username: b64("admin"), password: b64(password.value) },
      };
      return Promise.resolve(secret);
    },
  } as unknown as CoreV1Api;
  return { core, reads };
}

function externalInstance(url = "http://127.0.0.1:1"): KeycloakInstance {
  return {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakInstance",
    metadata: { name: "kc", namespace: "platform", uid: "u1" },
    spec: { external: { url, adminCredentials: { secretRef: { name: "kc-admin" } } } },
  };
}

function poolWith(core: CoreV1Api, clock: { ms: number }, secretsMaxAgeMs: number) {
  return new ConnectionPool({
    core,
    timeoutMs: 1000,
    limits: defaultLimiterConfig,
    secretsMaxAgeMs,
    now: () => clock.ms,
  });
}

describe("ConnectionPool: the admin Secret behind an instance's connection", () => {
  it("Given a maximum age, When many reconciles ask within it, Then the Secret is read once and they share one connection", async () => {
    const { core, reads } = fakeCore({ value: "one" });
    const clock = { ms: 0 };
    const pool = poolWith(core, clock, 10_000);
    const first = await pool.forInstance(externalInstance());
    for (let i = 0; i < 50; i++) {
      clock.ms += 100;
      expect(await pool.forInstance(externalInstance())).toBe(first);
    }
    expect(reads).toEqual(["platform/kc-admin"]);
  });

  it("Given the Secret's password rotated, When the maximum age has passed, Then it is read again and the connection is rebuilt", async () => {
    const password = { value: "one" };
    const { core, reads } = fakeCore(password);
    const clock = { ms: 0 };
    const pool = poolWith(core, clock, 10_000);
    const first = await pool.forInstance(externalInstance());
    password.value = "two";
    clock.ms = 9_999;
    expect(await pool.forInstance(externalInstance())).toBe(first);
    clock.ms = 10_000;
    const second = await pool.forInstance(externalInstance());
    expect(second).not.toBe(first);
    expect(reads).toHaveLength(2);
  });

  it("Given an unchanged Secret past the maximum age, When it is read again, Then the connection (and its login) is kept", async () => {
    const { core, reads } = fakeCore({ value: "one" });
    const clock = { ms: 0 };
    const pool = poolWith(core, clock, 1000);
    const first = await pool.forInstance(externalInstance());
    clock.ms = 5000;
    expect(await pool.forInstance(externalInstance())).toBe(first);
    clock.ms = 5500;
    expect(await pool.forInstance(externalInstance())).toBe(first);
    expect(reads).toHaveLength(2);
  });

  it("When the instance's spec changes or the caller asks to re-read, Then the Secret is read at once", async () => {
    const { core, reads } = fakeCore({ value: "one" });
    const clock = { ms: 0 };
    const pool = poolWith(core, clock, 60_000);
    await pool.forInstance(externalInstance());
    await pool.forInstance(externalInstance("http://127.0.0.1:2"));
    await pool.forInstance(externalInstance("http://127.0.0.1:2"), undefined, { reread: true });
    await pool.forInstance(externalInstance("http://127.0.0.1:2"));
    expect(reads).toHaveLength(3);
  });

  it("Given no maximum age (the CLI), When asked twice, Then the Secret is read twice", async () => {
    const { core, reads } = fakeCore({ value: "one" });
    const pool = poolWith(core, { ms: 0 }, 0);
    await pool.forInstance(externalInstance());
    await pool.forInstance(externalInstance());
    expect(reads).toHaveLength(2);
  });
});
