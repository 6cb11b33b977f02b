// The chart's admission webhook rendered by the pinned helm: the ValidatingWebhookConfiguration
// points at a Service that reaches the container's webhook port, covers the four kinds on create
// and update, spares kube-system and the release namespace, and is granted exactly what the
// operator does with it (its own configuration's caBundle, its own certificate Secret).
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { GROUP, PLURALS, VERSION } from "../../src/api/index.js";
import { SETTINGS } from "../../src/operator/config.js";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";

const chartDir = path.join(repoRoot, "charts/keycloak-policy-operator");
const NAMESPACE = "kpo-system";
const FULLNAME = "kpo-keycloak-policy-operator";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface Webhook {
  name: string;
  failurePolicy: string;
  timeoutSeconds: number;
  sideEffects: string;
  admissionReviewVersions: string[];
  clientConfig: {
    service: { name: string; namespace: string; path: string; port: number };
    caBundle?: string;
  };
  rules: {
    apiGroups: string[];
    apiVersions: string[];
    operations: string[];
    resources: string[];
    scope: string;
  }[];
  namespaceSelector: {
    matchLabels?: Record<string, string>;
    matchExpressions: { key: string; operator: string; values: string[] }[];
  };
  matchConditions?: { name: string; expression: string }[];
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const helmArgs = (args: string[]) => ["template", "kpo", chartDir, "--namespace", NAMESPACE, ...args];

function render(...args: string[]): K8sObject[] {
  const out = execFileSync(requireTool("KPO_HELM"), helmArgs(args), { encoding: "utf8" });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function renderError(...args: string[]): string {
  const result = spawnSync(requireTool("KPO_HELM"), helmArgs(args), { encoding: "utf8" });
  expect(result.status, "helm template should have failed").not.toBe(0);
  return result.stderr;
}

const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return found;
};

const webhookOf = (objects: K8sObject[]) => {
  const vwc = find(objects, "ValidatingWebhookConfiguration", FULLNAME) as unknown as { webhooks: Webhook[] };
  expect(vwc.webhooks).toHaveLength(1);
  return vwc.webhooks[0]!;
};

const container = (objects: K8sObject[]) => {
  const deployment = find(objects, "Deployment", FULLNAME) as unknown as {
    spec: {
      template: {
        spec: {
          containers: { name: string; args: string[]; ports: { name: string; containerPort: number }[] }[];
        };
      };
    };
  };
  return deployment.spec.template.spec.containers.find((c) => c.name === "operator")!;
};

const flag = (objects: K8sObject[], name: string) =>
  container(objects)
    .args.find((a) => a.startsWith(`${name}=`))
    ?.slice(name.length + 1);

const rulesOf = (o: K8sObject) => (o as unknown as { rules: Rule[] }).rules;

describe("Helm chart: admission webhook off (the default)", () => {
  const objects = render();

  it("given the default values, then no webhook configuration, Service, port, flag or RBAC is rendered", () => {
    expect(objects.filter((o) => o.kind === "ValidatingWebhookConfiguration")).toEqual([]);
    expect(objects.some((o) => o.metadata.name === `${FULLNAME}-webhook`)).toBe(false);
    expect(container(objects).args.filter((a) => a.startsWith("--webhook"))).toEqual([]);
    expect(container(objects).ports.map((p) => p.name)).toEqual(["http-metrics"]);
  });
});

describe("Helm chart: admission webhook with self-managed TLS", () => {
  const objects = render("--set", "webhook.enabled=true");
  const webhook = webhookOf(objects);

  it("given webhook.enabled, then every kind is reviewed on create and update, failing open within 5 s", () => {
    expect(webhook).toMatchObject({
      name: "validate.keycloak.kpo.dev",
      failurePolicy: "Ignore",
      timeoutSeconds: 5,
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
    });
    expect(webhook.rules).toEqual([
      {
        apiGroups: [GROUP],
        apiVersions: [VERSION],
        operations: ["CREATE", "UPDATE"],
        resources: Object.values(PLURALS),
        scope: "Namespaced",
      },
    ]);
  });

  it("given the configuration, then it calls /validate on a Service whose target is the container's webhook port", () => {
    const { service } = webhook.clientConfig;
    expect(service).toEqual({
      name: `${FULLNAME}-webhook`,
      namespace: NAMESPACE,
      path: "/validate",
      port: 443,
    });
    const svc = find(objects, "Service", service.name) as unknown as {
      spec: { ports: { port: number; targetPort: string }[] };
    };
    expect(svc.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: "webhook" })]);
    const port = container(objects).ports.find((p) => p.name === "webhook");
    expect(port?.containerPort).toBe(9443);
    expect(flag(objects, "--webhook-bind-address")).toBe("0.0.0.0:9443");
  });

  it("given self-managed TLS, then no caBundle is rendered and the operator is told the configuration, Secret and Service names", () => {
    expect(webhook.clientConfig.caBundle).toBeUndefined();
    expect(flag(objects, "--webhook-cert-management")).toBe("self");
    expect(flag(objects, "--webhook-configuration")).toBe(FULLNAME);
    expect(flag(objects, "--webhook-cert-secret")).toBe(`${NAMESPACE}/${FULLNAME}-webhook-tls`);
    expect(flag(objects, "--webhook-cert-names")?.split(",")).toContain(
      `${FULLNAME}-webhook.${NAMESPACE}.svc`,
    );
    const known = new Set(SETTINGS.map((s) => s.flag.split(" ")[0]));
    const flags = container(objects)
      .args.filter((a) => a.startsWith("--webhook"))
      .map((a) => a.split("=")[0]);
    expect(flags.filter((f) => !known.has(f))).toEqual([]);
  });

  it("given the namespace selector, then kube-system and the release namespace are spared", () => {
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", NAMESPACE] },
    ]);
    expect(webhook.matchConditions).toBeUndefined();
  });

  it("given the RBAC, then the operator may get and patch its own configuration and get, update and create its Secret, nothing more", () => {
    expect(rulesOf(find(objects, "ClusterRole", `${FULLNAME}-webhook`))).toEqual([
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: [FULLNAME],
        verbs: ["get", "patch"],
      },
    ]);
    const role = find(objects, "Role", `${FULLNAME}-webhook`);
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(rulesOf(role)).toEqual([
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [`${FULLNAME}-webhook-tls`],
        verbs: ["get", "update"],
      },
    ]);
    for (const kind of ["ClusterRoleBinding", "RoleBinding"])
      expect(find(objects, kind, `${FULLNAME}-webhook`)).toMatchObject({
        roleRef: { name: `${FULLNAME}-webhook` },
        subjects: [{ kind: "ServiceAccount", name: FULLNAME, namespace: NAMESPACE }],
      });
  });

  it("given a NetworkPolicy, then the webhook port is open for ingress too", () => {
    const policy = find(
      render("--set", "webhook.enabled=true,networkPolicy.enabled=true"),
      "NetworkPolicy",
      FULLNAME,
    ) as unknown as {
      spec: { ingress: { ports: { port: number }[] }[] };
    };
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual([8081, 9443]);
  });
});

describe("Helm chart: admission webhook values", () => {
  it("given failurePolicy, timeout, a namespace selector and match conditions, then the configuration carries them", () => {
    const webhook = webhookOf(
      render(
        "--set",
        "webhook.enabled=true,webhook.failurePolicy=Fail,webhook.timeoutSeconds=10",
        "--set",
        "webhook.namespaceSelector.matchLabels.tenant=yes",
        "--set-json",
        'webhook.namespaceSelector.matchExpressions=[{"key":"tier","operator":"Exists"}]',
        "--set-json",
        'webhook.matchConditions=[{"name":"not-flux","expression":"request.userInfo.username != \'flux\'"}]',
      ),
    );
    expect(webhook.failurePolicy).toBe("Fail");
    expect(webhook.timeoutSeconds).toBe(10);
    expect(webhook.namespaceSelector).toEqual({
      matchLabels: { tenant: "yes" },
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", NAMESPACE] },
        { key: "tier", operator: "Exists" },
      ],
    });
    expect(webhook.matchConditions).toEqual([
      { name: "not-flux", expression: "request.userInfo.username != 'flux'" },
    ]);
  });

  it("given values outside what the API server accepts, then helm refuses them", () => {
    expect(renderError("--set", "webhook.enabled=true,webhook.failurePolicy=Maybe")).toContain(
      "failurePolicy",
    );
    expect(renderError("--set", "webhook.enabled=true,webhook.timeoutSeconds=31")).toContain(
      "timeoutSeconds",
    );
    expect(renderError("--set-json", 'webhook.matchConditions=[{"name":"x"}]')).toContain("expression");
  });
});

describe("Helm chart: admission webhook with watched namespaces", () => {
  it("given watchNamespaces, then only those namespaces are reviewed (the caches hold nothing else)", () => {
    const webhook = webhookOf(render("--set", "webhook.enabled=true,watchNamespaces={team-a,team-b}"));
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", NAMESPACE] },
      { key: "kubernetes.io/metadata.name", operator: "In", values: ["team-a", "team-b"] },
    ]);
  });
});

describe("Helm chart: admission webhook with cert-manager", () => {
  const objects = render("--set", "webhook.enabled=true,webhook.certManager.enabled=true");

  it("given certManager.enabled, then a self-signed Issuer and a Certificate into the operator's Secret are rendered, and the CA is injected", () => {
    const certificate = find(objects, "Certificate", `${FULLNAME}-webhook`) as unknown as {
      metadata: { namespace: string };
      spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } };
    };
    expect(`${certificate.metadata.namespace}/${certificate.spec.secretName}`).toBe(
      flag(objects, "--webhook-cert-secret"),
    );
    expect(certificate.spec.dnsNames).toContain(`${FULLNAME}-webhook.${NAMESPACE}.svc`);
    expect(find(objects, "Issuer", certificate.spec.issuerRef.name)).toMatchObject({
      spec: { selfSigned: {} },
    });
    const vwc = find(objects, "ValidatingWebhookConfiguration", FULLNAME);
    expect(vwc.metadata.annotations?.["cert-manager.io/inject-ca-from"]).toBe(
      `${NAMESPACE}/${FULLNAME}-webhook`,
    );
  });

  it("given cert-manager, then the operator only reads its Secret and may not touch the webhook configuration", () => {
    expect(flag(objects, "--webhook-cert-management")).toBe("external");
    expect(flag(objects, "--webhook-configuration")).toBeUndefined();
    expect(objects.some((o) => o.kind === "ClusterRole" && o.metadata.name === `${FULLNAME}-webhook`)).toBe(
      false,
    );
    expect(rulesOf(find(objects, "Role", `${FULLNAME}-webhook`))).toEqual([
      { apiGroups: [""], resources: ["secrets"], resourceNames: [`${FULLNAME}-webhook-tls`], verbs: ["get"] },
    ]);
  });

  it("given an issuerRef, then the Certificate uses it and no Issuer is rendered", () => {
    const custom = render(
      "--set",
      "webhook.enabled=true,webhook.certManager.enabled=true,webhook.certManager.issuerRef.name=corp-ca,webhook.certManager.issuerRef.kind=ClusterIssuer",
    );
    expect(custom.filter((o) => o.kind === "Issuer")).toEqual([]);
    expect(find(custom, "Certificate", `${FULLNAME}-webhook`)).toMatchObject({
      spec: { issuerRef: { name: "corp-ca", kind: "ClusterIssuer" } },
    });
  });
});
