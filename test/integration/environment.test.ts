// Proves the integration environment is real: the API server stores and validates custom resources
// and enforces RBAC; Keycloak creates, serves and deletes a realm through its admin API.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { waitForEstablished } from "../../src/kube/crdInstall.js";
import { repoRoot } from "../../src/testenv/tools.js";
import { adminClient, kubeConfig } from "./support.js";

const group = "envtest.kpo.dev";
const widgetCrd: k8s.V1CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: { size: { type: "integer", minimum: 1 } },
              },
            },
          },
        },
      },
    ],
  },
};

async function ensureWidgetCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({ body: widgetCrd }).catch((e: unknown) => {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  });
  await waitForEstablished(kc, [`widgets.${group}`]);
}

describe("the local control plane", () => {
  it("given a CRD, when a custom resource is created, then it is stored and read back", async () => {
    const kc = kubeConfig();
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureWidgetCrd(kc);

    const name = `w-${randomUUID().slice(0, 8)}`;
    await objects.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace: "default",
      plural: "widgets",
      body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name }, spec: { size: 3 } },
    });
    const read = (await objects.getNamespacedCustomObject({
      group,
      version: "v1",
      namespace: "default",
      plural: "widgets",
      name,
    })) as { spec: { size: number }; metadata: { uid: string } };
    expect(read.spec.size).toBe(3);
    expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("given a CRD schema, when an object violates it, then the API server refuses it and names the field", async () => {
    const kc = kubeConfig();
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureWidgetCrd(kc);

    const error = await objects
      .createNamespacedCustomObject({
        group,
        version: "v1",
        namespace: "default",
        plural: "widgets",
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "bad" }, spec: { size: 0 } },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(k8s.ApiException);
    const apiError = error as k8s.ApiException<string>;
    expect(apiError.code).toBe(422);
    expect(String(apiError.body)).toContain("spec.size");
  });

  it("given RBAC authorization, when an unknown user asks to read secrets, then it is not allowed", async () => {
    const kc = kubeConfig();
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const review = await authz.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: "nobody",
          resourceAttributes: { verb: "get", resource: "secrets", namespace: "default" },
        },
      },
    });
    expect(review.status?.allowed).toBe(false);
    const admin = await authz.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: "someone",
          groups: ["system:masters"],
          resourceAttributes: { verb: "get", resource: "secrets", namespace: "default" },
        },
      },
    });
    expect(admin.status?.allowed).toBe(true);
  });

  it("reports the pinned Kubernetes version", async () => {
    const kc = kubeConfig();
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const pinned = /^KUBERNETES_VERSION=(\S+)$/m.exec(
      readFileSync(path.join(repoRoot, "tools.versions"), "utf8"),
    );
    expect(version.gitVersion).toBe(pinned?.[1]);
  });
});

describe("the local Keycloak", () => {
  it("given admin credentials, when a realm is created, then it can be read and deleted", async () => {
    const { url } = inject("keycloak");
    const admin = await adminClient();

    const realm = `env-${randomUUID().slice(0, 8)}`;
    await admin.realms.create({ realm, enabled: true, displayName: "Environment check" });
    const read = await admin.realms.findOne({ realm });
    expect(read?.displayName).toBe("Environment check");

    const wellKnown = await fetch(`${url}/realms/${realm}/.well-known/openid-configuration`);
    expect(wellKnown.status).toBe(200);
    expect(((await wellKnown.json()) as { issuer: string }).issuer).toBe(`${url}/realms/${realm}`);

    await admin.realms.del({ realm });
    expect(await admin.realms.findOne({ realm })).toBeNull();
  });

  it("given a wrong password, when authenticating, then the admin API refuses", async () => {
    const { url, adminUsername } = inject("keycloak");
    const admin = new KcAdminClient({ baseUrl: url, realmName: "master" });
    await expect(
      admin.auth({
        grantType: "password",
        clientId: "admin-cli",
        username: adminUsername,
        password: "wrong",
      }),
    ).rejects.toThrow();
  });
});
