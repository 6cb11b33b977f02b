import { describe, expect, it } from "vitest";
import { ApiException, type KubernetesObject, type KubernetesObjectApi } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import { TransientError } from "../lifecycle/errors.js";
import { lookUp, removeRendered } from "./optional.js";
import { renderIngress, renderServiceMonitor } from "./render.js";

const kc: KeycloakInstance = {
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakInstance",
  metadata: { name: "kc", namespace: "idp", uid: "uid-1" },
  spec: { managed: { database: { vendor: "dev-mem" }, ingress: { enabled: true, host: "sso.example.com" } } },
};

/** A KubernetesObjectApi whose read and delete do what the test says, recording deletes. */
function objectsApi(
  read: () => Promise<KubernetesObject>,
  del: () => Promise<unknown> = () => Promise.resolve({}),
) {
  const deletes: { spec: KubernetesObject; body: unknown }[] = [];
  const api = {
    read,
    delete: (spec: KubernetesObject, ...rest: unknown[]) => {
      deletes.push({ spec, body: rest[5] });
      return del();
    },
  } as unknown as KubernetesObjectApi;
  return { api, deletes };
}

const fail = (err: unknown) => () => Promise.reject(err instanceof Error ? err : new Error(String(err)));

describe("optional objects: lookup and removal", () => {
  const sm = renderServiceMonitor(kc);

  it("Given a 404 with a NotFound Status, When looked up, Then the kind is served and the object absent", async () => {
    const body = JSON.stringify({ kind: "Status", reason: "NotFound", code: 404 });
    const { api } = objectsApi(fail(new ApiException(404, "Unsuccessful HTTP Request", body, {})));
    expect(await lookUp(api, sm)).toEqual({ served: true, existing: undefined });
  });

  it("Given discovery's bare 404 or a group without the kind, When looked up, Then the kind is not served", async () => {
    const bare = objectsApi(
      fail(new ApiException(404, "Unsuccessful HTTP Request", "404 page not found\n", {})),
    );
    expect(await lookUp(bare.api, sm)).toEqual({ served: false });
    const noKind = objectsApi(
      fail(new Error("Unrecognized API version and kind: monitoring.coreos.com/v1 X")),
    );
    expect(await lookUp(noKind.api, sm)).toEqual({ served: false });
  });

  it("Given any other failure, When looked up, Then it is transient and names the object and field", async () => {
    const { api } = objectsApi(fail(new ApiException(500, "Unsuccessful HTTP Request", "{}", {})));
    const err: unknown = await lookUp(api, sm).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(
      /^reading ServiceMonitor idp\/kc \(spec\.managed\.serviceMonitor\)/,
    );
  });

  it("Given a stored object, When removed, Then only the instance's own labelled rendering is deleted, with its uid as precondition", async () => {
    const ingress = renderIngress(kc);
    const rendered = ingress.rendered;
    if (!rendered) throw new Error("not rendered");
    const ours = { ...rendered, metadata: { ...rendered.metadata, uid: "obj-1" } };
    const own = objectsApi(() => Promise.resolve(ours));
    await removeRendered(own.api, kc, ingress, ours);
    expect(own.deletes).toEqual([{ spec: ingress.ref, body: { preconditions: { uid: "obj-1" } } }]);
    const foreign = { ...ours, metadata: { ...ours.metadata, ownerReferences: [] } };
    const other = objectsApi(() => Promise.resolve(foreign));
    await removeRendered(other.api, kc, ingress, foreign);
    expect(other.deletes).toEqual([]);
  });

  it("Given the object gone or replaced meanwhile, When removed, Then that is no error, and any other failure is transient", async () => {
    const ingress = renderIngress(kc);
    const ours = ingress.rendered as KubernetesObject;
    for (const code of [404, 409]) {
      const { api } = objectsApi(() => Promise.resolve(ours), fail(new ApiException(code, "x", "{}", {})));
      await expect(removeRendered(api, kc, ingress, ours)).resolves.toBeUndefined();
    }
    const { api } = objectsApi(() => Promise.resolve(ours), fail(new ApiException(403, "x", "{}", {})));
    await expect(removeRendered(api, kc, ingress, ours)).rejects.toBeInstanceOf(TransientError);
  });
});
