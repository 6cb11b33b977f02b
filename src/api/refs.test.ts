import { describe, expect, it } from "vitest";
import { clientSecretName, instanceRefOf, realmRefOf } from "./refs.js";

describe("references", () => {
  it("Given a realm whose instanceRef has no namespace, when resolved, then the realm's namespace is used", () => {
    const realm = {
      kind: "KeycloakRealm",
      metadata: { name: "apps", namespace: "team-a" },
      spec: { instanceRef: { name: "main" } },
    };
    expect(instanceRefOf(realm)).toEqual({ name: "main", namespace: "team-a" });
  });

  it("Given a client whose realmRef names a namespace, when resolved, then that namespace is kept", () => {
    const client = {
      kind: "KeycloakClient",
      metadata: { name: "web", namespace: "shop" },
      spec: { realmRef: { name: "apps", namespace: "identity" } },
    };
    expect(realmRefOf(client)).toEqual({ name: "apps", namespace: "identity" });
  });

  it("Given an object without a namespace, when its reference is resolved, then the error names the object", () => {
    const client = {
      kind: "KeycloakClient",
      metadata: { name: "web" },
      spec: { realmRef: { name: "apps" } },
    };
    expect(() => realmRefOf(client)).toThrow(/KeycloakClient web has no metadata.namespace/);
  });

  it("Given a client without spec.secret.name, when the Secret name is asked, then it is <name>-credentials", () => {
    expect(clientSecretName({ metadata: { name: "web" }, spec: {} })).toBe("web-credentials");
    expect(clientSecretName({ metadata: { name: "web" }, spec: { secret: { rotate: 1 } } })).toBe(
      "web-credentials",
    );
  });

  it("Given a client with spec.secret.name, when the Secret name is asked, then that name is used", () => {
    expect(clientSecretName({ metadata: { name: "web" }, spec: { secret: { name: "web-oidc" } } })).toBe(
      "web-oidc",
    );
  });
});
