import { describe, expect, it } from "vitest";
import type { V1Container, V1StatefulSet } from "@kubernetes/client-node";
import type { KeycloakInstance } from "../api/index.js";
import { additionalOptionEnv, ManagedSpecError, optionEnvName } from "./options.js";
import {
  APPLIED_HASH_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  configHashOf,
  managedNames,
  isRenderedFor,
  renderAdminSecret,
  renderDiscoveryService,
  renderIngress,
  renderNetworkPolicy,
  renderPodDisruptionBudget,
  renderService,
  renderServiceMonitor,
  renderStatefulSet,
  statefulSetReadiness,
  withAppliedHash,
  referencedSecretNames,
} from "./render.js";

function instance(managed: Partial<NonNullable<KeycloakInstance["spec"]["managed"]>> = {}): KeycloakInstance {
  return {
    apiVersion: "keycloak.kpo.dev/v1alpha1",
    kind: "KeycloakInstance",
    metadata: { name: "kc", namespace: "idp", uid: "uid-1", generation: 1 },
    spec: {
      managed: {
        replicas: 2,
        image: "registry.example/keycloak:26.5.2-pg",
        database: {
          vendor: "postgres",
          host: "db.idp.svc",
          database: "keycloak",
          credentialsSecretRef: { name: "db-creds", usernameKey: "user", passwordKey: "pass" },
        },
        ...managed,
      },
    },
  };
}

function container(sts: V1StatefulSet): V1Container {
  const c = sts.spec?.template.spec?.containers[0];
  if (!c) throw new Error("no container");
  return c;
}

function env(sts: V1StatefulSet): Map<string, NonNullable<V1Container["env"]>[number]> {
  return new Map((container(sts).env ?? []).map((e) => [e.name, e]));
}

/** The owner reference every rendered object of instance() carries. */
const OWNER = {
  apiVersion: "keycloak.kpo.dev/v1alpha1",
  kind: "KeycloakInstance",
  name: "kc",
  uid: "uid-1",
  controller: true,
  blockOwnerDeletion: true,
};

describe("managed Keycloak rendering", () => {
  it("Given a managed instance, When the StatefulSet is rendered, Then it starts the optimized server with the four ports and health probes on the management port", () => {
    const sts = renderStatefulSet(instance(), "h1");
    const c = container(sts);
    expect(c.args).toEqual(["start", "--optimized"]);
    expect(c.image).toBe("registry.example/keycloak:26.5.2-pg");
    expect(Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]))).toEqual({
      http: 8080,
      https: 8443,
      management: 9000,
      cache: 7800,
    });
    expect(c.startupProbe?.httpGet).toMatchObject({ path: "/health/started", port: "management" });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/health/ready", port: "management" });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: "/health/live", port: "management" });
    expect(sts.spec?.replicas).toBe(2);
    expect(sts.spec?.serviceName).toBe("kc-discovery");
  });

  it("Given a managed instance, When rendered, Then a failed start leaves the end of Keycloak's log as the termination message the operator reports", () => {
    expect(container(renderStatefulSet(instance(), "h1")).terminationMessagePolicy).toBe(
      "FallbackToLogsOnError",
    );
  });

  it("Given a managed instance, When rendered, Then the pod runs restricted with writable emptyDirs only for /tmp and the data dir", () => {
    const sts = renderStatefulSet(instance(), "h1");
    const pod = sts.spec?.template.spec;
    expect(pod?.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(container(sts).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    expect(container(sts).volumeMounts?.map((m) => m.mountPath)).toEqual(["/tmp", "/opt/keycloak/data"]);
    expect(pod?.volumes?.every((v) => v.emptyDir !== undefined)).toBe(true);
    expect(pod?.topologySpreadConstraints?.[0]?.topologyKey).toBe("kubernetes.io/hostname");
  });

  it("Given database credentials in a Secret, When rendered, Then they and the bootstrap admin reach the pod only by secretKeyRef", () => {
    const e = env(renderStatefulSet(instance(), "h1"));
    expect(e.get("KC_DB")?.value).toBe("postgres");
    expect(e.get("KC_DB_URL_HOST")?.value).toBe("db.idp.svc");
    expect(e.get("KC_DB_URL_PORT")?.value).toBe("5432");
    expect(e.get("KC_DB_URL_DATABASE")?.value).toBe("keycloak");
    expect(e.get("KC_DB_USERNAME")).toEqual({
      name: "KC_DB_USERNAME",
      valueFrom: { secretKeyRef: { name: "db-creds", key: "user" } },
    });
    expect(e.get("KC_DB_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({ name: "db-creds", key: "pass" });
    expect(e.get("KC_BOOTSTRAP_ADMIN_USERNAME")?.valueFrom?.secretKeyRef).toEqual({
      name: "kc-admin",
      key: "username",
    });
    expect(e.get("KC_BOOTSTRAP_ADMIN_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "kc-admin",
      key: "password",
    });
    for (const v of e.values()) if (/PASSWORD|USERNAME/.test(v.name)) expect(v.value).toBeUndefined();
    expect(e.get("KC_HEALTH_ENABLED")?.value).toBe("true");
    expect(e.get("KC_METRICS_ENABLED")?.value).toBe("true");
    expect(e.get("KC_PROXY_HEADERS")?.value).toBe("xforwarded");
  });

  it("Given two replicas, When rendered, Then the cache stack queries the headless Service that publishes not-ready pods", () => {
    const e = env(renderStatefulSet(instance(), "h1"));
    expect(e.get("KC_CACHE")?.value).toBe("ispn");
    expect(e.get("KC_CACHE_STACK")?.value).toBe("jdbc-ping");
    const discovery = renderDiscoveryService(instance());
    expect(discovery.metadata?.name).toBe("kc-discovery");
    expect(discovery.spec?.clusterIP).toBe("None");
    expect(discovery.spec?.publishNotReadyAddresses).toBe(true);
    expect(discovery.spec?.ports?.[0]?.port).toBe(7800);
  });

  it("Given a hostname and TLS, When rendered, Then Keycloak gets the hostname, the certificate files and HTTPS probes", () => {
    const sts = renderStatefulSet(
      instance({ hostname: "https://sso.example.com", tls: { secretName: "kc-tls" } }),
      "h1",
    );
    const e = env(sts);
    expect(e.get("KC_HOSTNAME")?.value).toBe("https://sso.example.com");
    expect(e.get("KC_HTTP_ENABLED")?.value).toBe("false");
    expect(e.get("KC_HTTPS_CERTIFICATE_FILE")?.value).toBe("/opt/keycloak/conf/tls/tls.crt");
    expect(container(sts).readinessProbe?.httpGet?.scheme).toBe("HTTPS");
    expect(sts.spec?.template.spec?.volumes?.find((v) => v.name === "tls")?.secret?.secretName).toBe(
      "kc-tls",
    );
  });

  it("Given every object, When rendered, Then each is owned by the instance and labelled as the operator's", () => {
    const objects = [
      renderStatefulSet(instance(), "h1"),
      renderService(instance()),
      renderDiscoveryService(instance()),
      renderAdminSecret(instance(), "pw"),
    ];
    for (const o of objects) {
      expect(o.metadata?.namespace).toBe("idp");
      expect(o.metadata?.ownerReferences).toEqual([OWNER]);
      expect(o.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("keycloak-policy-operator");
    }
  });

  it("Given a user-supplied admin Secret, When named, Then the pods read it and the operator does not own it", () => {
    const names = managedNames(instance({ adminSecretName: "my-admin" }));
    expect(names).toMatchObject({ adminSecret: "my-admin", adminSecretOwned: false });
    const e = env(renderStatefulSet(instance({ adminSecretName: "my-admin" }), "h1"));
    expect(e.get("KC_BOOTSTRAP_ADMIN_PASSWORD")?.valueFrom?.secretKeyRef?.name).toBe("my-admin");
  });

  it("Given Secret data, When it changes, Then the pod-template hash changes, and the order of sources does not matter", () => {
    const a = { kind: "Secret", name: "db", data: { password: "YQ==" } };
    const b = { kind: "Secret", name: "admin", data: { password: "Yg==" } };
    const h1 = configHashOf([a, b]);
    expect(configHashOf([b, a])).toBe(h1);
    expect(configHashOf([{ ...a, data: { password: "Yw==" } }, b])).not.toBe(h1);
    expect(h1).not.toContain("YQ==");
    const sts = renderStatefulSet(instance(), h1);
    expect(sts.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(h1);
  });

  it("Given an object, When marked with its applied hash, Then an unchanged rendering carries the same mark", () => {
    const one = withAppliedHash(renderService(instance()));
    const two = withAppliedHash(renderService(instance()));
    expect(one.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]).toBe(
      two.metadata?.annotations?.[APPLIED_HASH_ANNOTATION],
    );
    const other = withAppliedHash(renderService(instance({ hostname: "x" })));
    expect(other.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]).toBe(
      one.metadata?.annotations?.[APPLIED_HASH_ANNOTATION],
    );
    const sts1 = withAppliedHash(renderStatefulSet(instance(), "h1"));
    const sts2 = withAppliedHash(renderStatefulSet(instance(), "h2"));
    expect(sts1.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]).not.toBe(
      sts2.metadata?.annotations?.[APPLIED_HASH_ANNOTATION],
    );
  });

  it("Given truststore Secrets, When rendered, Then each is mounted read-only in its own directory, Keycloak trusts those directories, and a change of one is watched", () => {
    const managed = instance({ truststoreSecrets: ["idp-ca", "ldap-ca"] });
    const sts = renderStatefulSet(managed, "h");
    expect(env(sts).get("KC_TRUSTSTORE_PATHS")?.value).toBe(
      "/opt/keycloak/conf/truststores/idp-ca,/opt/keycloak/conf/truststores/ldap-ca",
    );
    expect(sts.spec?.template.spec?.volumes).toEqual(
      expect.arrayContaining([
        { name: "truststore-0", secret: { secretName: "idp-ca" } },
        { name: "truststore-1", secret: { secretName: "ldap-ca" } },
      ]),
    );
    expect(container(sts).volumeMounts).toEqual(
      expect.arrayContaining([
        { name: "truststore-0", mountPath: "/opt/keycloak/conf/truststores/idp-ca", readOnly: true },
        { name: "truststore-1", mountPath: "/opt/keycloak/conf/truststores/ldap-ca", readOnly: true },
      ]),
    );
    expect(referencedSecretNames(managed)).toEqual(expect.arrayContaining(["idp-ca", "ldap-ca"]));
    expect(env(renderStatefulSet(instance(), "h")).has("KC_TRUSTSTORE_PATHS")).toBe(false);
  });

  it("Given additional options, When rendered, Then free ones become KC_ variables and operator-owned ones are refused by name", () => {
    expect(optionEnvName("log-level")).toBe("KC_LOG_LEVEL");
    const e = env(
      renderStatefulSet(instance({ additionalOptions: [{ name: "log-level", value: "debug" }] }), "h"),
    );
    expect(e.get("KC_LOG_LEVEL")?.value).toBe("debug");
    // Dots are dashes to Keycloak (both become "_"): "db.url" is KC_DB_URL and is refused as well.
    for (const name of [
      "db-password",
      "hostname",
      "cache-stack",
      "bootstrap-admin-password",
      "https-port",
      "db.url",
      "bootstrap.admin.password",
      "http.enabled",
      "truststore-paths",
    ]) {
      expect(() => additionalOptionEnv([{ name, value: "x" }])).toThrow(ManagedSpecError);
    }
    expect(() =>
      renderStatefulSet(
        instance({
          additionalOptions: [
            { name: "db-url", value: "x" },
            { name: "log-level", value: "info" },
          ],
        }),
        "h",
      ),
    ).toThrow(/additionalOptions sets "db-url", which the operator sets itself/);
  });

  it("Given a StatefulSet status, When readiness is judged, Then only all replicas ready at the observed generation count", () => {
    const sts = (status: V1StatefulSet["status"], generation = 2): V1StatefulSet => ({
      metadata: { name: "kc", namespace: "idp", generation },
      spec: { replicas: 2, selector: {}, serviceName: "x", template: {} },
      status,
    });
    expect(statefulSetReadiness(sts(undefined))).toMatchObject({ ready: false });
    expect(statefulSetReadiness(sts(undefined)).message).toMatch(/generation 2 not yet observed/);
    expect(
      statefulSetReadiness(sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, replicas: 2 })),
    ).toMatchObject({ ready: false });
    expect(
      statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 1, updatedReplicas: 2, replicas: 2 }))
        .message,
    ).toMatch(/1\/2 pods ready/);
    expect(
      statefulSetReadiness(sts({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, replicas: 2 })),
    ).toMatchObject({ ready: true });
  });

  describe("optional objects", () => {
    const renderers = [renderPodDisruptionBudget, renderNetworkPolicy, renderIngress, renderServiceMonitor];

    it("Given none of the optional fields, When rendered, Then nothing is rendered but each still names the object to remove", () => {
      for (const managed of [
        {},
        {
          podDisruptionBudget: { enabled: false },
          networkPolicy: { enabled: false },
          ingress: { enabled: false, host: "sso.example.com" },
          serviceMonitor: { enabled: false },
        },
      ]) {
        for (const render of renderers) {
          const o = render(instance(managed));
          expect(o.rendered).toBeUndefined();
          expect(o.ref.metadata).toEqual({ name: "kc", namespace: "idp" });
        }
      }
      expect(renderers.map((r) => `${r(instance()).ref.apiVersion} ${r(instance()).ref.kind}`)).toEqual([
        "policy/v1 PodDisruptionBudget",
        "networking.k8s.io/v1 NetworkPolicy",
        "networking.k8s.io/v1 Ingress",
        "monitoring.coreos.com/v1 ServiceMonitor",
      ]);
    });

    it("Given every optional field enabled, When rendered, Then each object is owned by the instance, labelled as the operator's and of the kind its ref names", () => {
      const all = instance({
        podDisruptionBudget: { enabled: true },
        networkPolicy: { enabled: true },
        ingress: { enabled: true, host: "sso.example.com" },
        serviceMonitor: { enabled: true },
      });
      for (const render of renderers) {
        const { ref, rendered } = render(all);
        expect(rendered).toMatchObject({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: ref.metadata,
        });
        expect(rendered?.metadata?.ownerReferences).toEqual([OWNER]);
        expect(rendered?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("keycloak-policy-operator");
        expect(rendered && isRenderedFor(all, rendered)).toBe(true);
      }
    });

    it("Given a stored object, When judged for removal, Then only one owned by this instance's uid and carrying the operator's labels qualifies", () => {
      const kc = instance({ podDisruptionBudget: { enabled: true } });
      const ours = renderPodDisruptionBudget(kc).rendered;
      if (!ours) throw new Error("not rendered");
      expect(isRenderedFor(kc, ours)).toBe(true);
      const meta = ours.metadata ?? {};
      expect(isRenderedFor(kc, { ...ours, metadata: { ...meta, labels: {} } })).toBe(false);
      expect(isRenderedFor(kc, { ...ours, metadata: { ...meta, ownerReferences: [] } })).toBe(false);
      expect(
        isRenderedFor(kc, {
          ...ours,
          metadata: { ...meta, ownerReferences: [{ ...OWNER, uid: "uid-other" }] },
        }),
      ).toBe(false);
      expect(
        isRenderedFor(kc, {
          ...ours,
          metadata: { ...meta, ownerReferences: [{ ...OWNER, controller: false }] },
        }),
      ).toBe(false);
      expect(
        isRenderedFor(kc, {
          ...ours,
          metadata: { ...meta, labels: { ...meta.labels, "app.kubernetes.io/instance": "other" } },
        }),
      ).toBe(false);
    });

    it("Given a PodDisruptionBudget, When rendered, Then it selects the instance's pods with maxUnavailable 1 unless set", () => {
      const pdb = renderPodDisruptionBudget(instance({ podDisruptionBudget: { enabled: true } })).rendered;
      expect(pdb?.spec).toEqual({
        maxUnavailable: 1,
        selector: {
          matchLabels: { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/instance": "kc" },
        },
      });
      expect(
        renderPodDisruptionBudget(instance({ podDisruptionBudget: { enabled: true, maxUnavailable: "50%" } }))
          .rendered?.spec?.maxUnavailable,
      ).toBe("50%");
      // The selector is the StatefulSet's.
      expect(pdb?.spec?.selector).toEqual(renderStatefulSet(instance(), "h").spec?.selector);
    });

    it("Given a NetworkPolicy without peers, When rendered, Then HTTP, HTTPS and management are open to the namespace's pods and the cache ports only to the instance's pods", () => {
      const np = renderNetworkPolicy(instance({ networkPolicy: { enabled: true } })).rendered;
      const pods = {
        matchLabels: { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/instance": "kc" },
      };
      expect(np?.spec?.podSelector).toEqual(pods);
      expect(np?.spec?.policyTypes).toEqual(["Ingress"]);
      expect(np?.spec?.ingress).toEqual([
        {
          _from: [{ podSelector: {} }],
          ports: [
            { protocol: "TCP", port: 8080 },
            { protocol: "TCP", port: 8443 },
            { protocol: "TCP", port: 9000 },
          ],
        },
        {
          _from: [{ podSelector: pods }],
          ports: [
            { protocol: "TCP", port: 7800 },
            { protocol: "TCP", port: 57800 },
          ],
        },
      ]);
      expect(np?.spec?.egress).toBeUndefined();
    });

    it("Given NetworkPolicy peers, When rendered, Then exactly they reach HTTP, HTTPS and management, and the cache rule is unchanged", () => {
      const peers: NonNullable<
        NonNullable<KeycloakInstance["spec"]["managed"]>["networkPolicy"]
      >["ingressFrom"] = [
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
        {
          namespaceSelector: { matchLabels: { team: "shop" } },
          podSelector: { matchLabels: { app: "web" } },
        },
        { podSelector: {} },
      ];
      const np = renderNetworkPolicy(
        instance({ networkPolicy: { enabled: true, ingressFrom: peers } }),
      ).rendered;
      expect(np?.spec?.ingress?.[0]?._from).toEqual([
        peers[0],
        peers[1],
        { podSelector: { matchLabels: {} } },
      ]);
      expect(np?.spec?.ingress?.[0]?.ports?.map((p) => p.port)).toEqual([8080, 8443, 9000]);
      expect(np?.spec?.ingress?.[1]?._from).toEqual([
        {
          podSelector: {
            matchLabels: { "app.kubernetes.io/name": "keycloak", "app.kubernetes.io/instance": "kc" },
          },
        },
      ]);
    });

    it("Given an Ingress, When rendered, Then the host routes to the Service's http port, or its https port with spec.managed.tls, with class, TLS and annotations as given", () => {
      const plain = renderIngress(instance({ ingress: { enabled: true, host: "sso.example.com" } })).rendered;
      expect(plain?.spec).toEqual({
        rules: [
          {
            host: "sso.example.com",
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "kc", port: { name: "http" } } },
                },
              ],
            },
          },
        ],
      });
      expect(plain?.metadata?.annotations).toBeUndefined();
      const full = renderIngress(
        instance({
          tls: { secretName: "kc-tls" },
          ingress: {
            enabled: true,
            host: "sso.example.com",
            className: "nginx",
            tlsSecretName: "sso-cert",
            annotations: { "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS" },
          },
        }),
      ).rendered;
      expect(full?.spec?.ingressClassName).toBe("nginx");
      expect(full?.spec?.tls).toEqual([{ hosts: ["sso.example.com"], secretName: "sso-cert" }]);
      expect(full?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port).toEqual({ name: "https" });
      expect(full?.metadata?.annotations).toEqual({
        "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
      });
      const service = renderService(instance());
      expect(service.spec?.ports?.map((p) => p.name)).toEqual(expect.arrayContaining(["http", "https"]));
    });

    it("Given an Ingress enabled without a host, When rendered, Then it is refused with the field's name", () => {
      expect(() =>
        renderIngress(
          instance({
            ingress: { enabled: true },
          }),
        ),
      ).toThrow(/spec.managed.ingress.host is required/);
    });

    it("Given a ServiceMonitor, When rendered, Then it scrapes /metrics on the client Service's management port, over HTTPS with spec.managed.tls", () => {
      const sm = renderServiceMonitor(
        instance({ serviceMonitor: { enabled: true, interval: "30s" } }),
      ).rendered;
      expect(sm?.spec).toEqual({
        selector: {
          matchLabels: {
            "app.kubernetes.io/name": "keycloak",
            "app.kubernetes.io/instance": "kc",
            "app.kubernetes.io/component": "server",
          },
        },
        endpoints: [{ port: "management", path: "/metrics", scheme: "http", interval: "30s" }],
      });
      // The selector matches the client Service and not the discovery Service.
      const matches = (labels: Record<string, string> | undefined) =>
        Object.entries(sm?.spec.selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
      expect(matches(renderService(instance()).metadata?.labels)).toBe(true);
      expect(matches(renderDiscoveryService(instance()).metadata?.labels)).toBe(false);
      const tls = renderServiceMonitor(
        instance({ tls: { secretName: "kc-tls" }, serviceMonitor: { enabled: true } }),
      ).rendered;
      expect(tls?.spec.endpoints[0]).toMatchObject({
        scheme: "https",
        tlsConfig: { insecureSkipVerify: true },
      });
      expect(tls?.spec.endpoints[0]?.interval).toBeUndefined();
    });
  });
});
