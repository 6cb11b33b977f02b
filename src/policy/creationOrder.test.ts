import { describe, expect, it } from "vitest";
import type { KeycloakClient, KeycloakRealm } from "../api/index.js";
import { realmRefOf } from "../api/refs.js";
import { sameKey } from "../kube/objectKey.js";
import { CreationOrder } from "./creationOrder.js";
import { createdBefore } from "./input.js";

function client(namespace: string, name: string, second: number, realm: string): KeycloakClient {
  return {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakClient",
    metadata: {
      namespace,
      name,
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString() as unknown as Date,
    },
    spec: { clientId: name, realmRef: { name: realm, namespace: "shared" } },
  };
}

/** A small deterministic generator, so a failure repeats. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe("CreationOrder", () => {
  it("Given random adds, realm moves and deletes, When counted, Then every count equals the scan's", () => {
    const next = random(7);
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
    const order = new CreationOrder();
    const live = new Map<string, KeycloakClient>();
    let checks = 0;
    for (let step = 0; step < 600; step++) {
      const roll = next();
      if (roll < 0.55 || live.size === 0) {
        // Few namespaces, names and seconds: ties in time and in name happen often.
        const c = client(
          pick(["a", "b", "c"]),
          `c${Math.floor(next() * 12)}`,
          Math.floor(next() * 5),
          pick(["r1", "r2"]),
        );
        const key = `${c.metadata.namespace}/${c.metadata.name}`;
        const old = live.get(key);
        if (old) order.update(old, c);
        else order.add(c);
        live.set(key, c);
      } else if (roll < 0.75) {
        const old = pick([...live.values()]);
        const moved = {
          ...old,
          spec: {
            ...old.spec,
            realmRef: { name: old.spec.realmRef.name === "r1" ? "r2" : "r1", namespace: "shared" },
          },
        };
        order.update(old, moved);
        live.set(`${old.metadata.namespace}/${old.metadata.name}`, moved);
      } else {
        const gone = pick([...live.values()]);
        order.remove(gone);
        live.delete(`${gone.metadata.namespace}/${gone.metadata.name}`);
      }
      const all = [...live.values()];
      for (const c of all) {
        const inNamespace = all.filter(
          (o) => o.metadata.namespace === c.metadata.namespace && createdBefore(o, c),
        );
        const inRealm = all.filter((o) => sameKey(realmRefOf(o), realmRefOf(c)) && createdBefore(o, c));
        expect(order.countBefore(c, "namespace")).toBe(inNamespace.length);
        expect(order.countBefore(c, "realm")).toBe(inRealm.length);
        checks++;
      }
    }
    expect(checks).toBeGreaterThan(1000);
  });

  it("Given an object the index never saw, When counted, Then the objects before it are counted all the same", () => {
    const order = new CreationOrder();
    order.add(client("a", "x", 1, "r1"));
    order.add(client("a", "y", 3, "r1"));
    expect(order.countBefore(client("a", "new", 2, "r1"), "namespace")).toBe(1);
    expect(order.countBefore(client("b", "new", 9, "r1"), "realm")).toBe(2);
    expect(order.countBefore(client("b", "new", 9, "r1"), "namespace")).toBe(0);
  });

  it("Given realms, When counted per realm, Then nothing is counted (only clients have a realm quota)", () => {
    const realm = {
      kind: "KeycloakRealm",
      metadata: { namespace: "a", name: "r" },
      spec: {},
    } as unknown as KeycloakRealm;
    const order = new CreationOrder();
    order.add(realm);
    expect(order.countBefore(realm, "realm")).toBe(0);
    expect(order.countBefore({ ...realm, metadata: { namespace: "a", name: "s" } }, "namespace")).toBe(1);
  });
});
