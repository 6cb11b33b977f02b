// The Helm chart rendered by the pinned helm and checked object by object: the restricted pod
// security settings, RBAC exactly as the operator uses it (no more), the policy data mount, alerts
// on metrics the operator really exports, and a values schema that rejects typos.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isMap, isPair, isScalar, parseAllDocuments, parseDocument, type Node } from "yaml";
import { loadMachines } from "../../src/lifecycle/loader.js";
import { DEFAULT_MACHINES_DIR } from "../../src/lifecycle/paths.js";
import { SETTINGS } from "../../src/operator/config.js";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";

const chartDir = path.join(repoRoot, "charts/keycloak-policy-operator");
const NAMESPACE = "kpo-system";
const FULLNAME = "kpo-keycloak-policy-operator";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Container {
  name: string;
  args: string[];
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
}

function helmArgs(args: string[]): string[] {
  return ["template", "kpo", chartDir, "--namespace", NAMESPACE, ...args];
}

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

function find(objects: K8sObject[], kind: string, name: string, namespace?: string): K8sObject {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (!found) throw new Error(`no ${kind} ${namespace ?? ""}/${name} in the rendered chart`);
  return found;
}

const podSpec = (objects: K8sObject[]) =>
  (find(objects, "Deployment", FULLNAME) as unknown as { spec: { template: { spec: PodSpec } } }).spec
    .template.spec;
const operatorContainer = (objects: K8sObject[]) => {
  const c = podSpec(objects).containers.find((x) => x.name === "operator");
  if (!c) throw new Error("no operator container");
  return c;
};
const rulesOf = (o: K8sObject) => (o as unknown as { rules: Rule[] }).rules;

/** What the operator calls (src/operator, src/kube): the expected rules, verb for verb. */
const BASE_RULES: Rule[] = [
  {
    apiGroups: ["keycloak.kpo.dev"],
    resources: ["keycloakinstances", "keycloakrealms", "keycloakclients", "keycloakusers"],
    verbs: ["get", "list", "watch", "patch"],
  },
  {
    apiGroups: ["keycloak.kpo.dev"],
    resources: [
      "keycloakinstances/status",
      "keycloakrealms/status",
      "keycloakclients/status",
      "keycloakusers/status",
    ],
    verbs: ["get", "patch"],
  },
  { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];
/** What a managed instance adds (src/managed/provision.ts), unless managedInstances.enabled=false. */
const MANAGED_RULES: Rule[] = [
  { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "create", "patch"] },
  { apiGroups: [""], resources: ["services"], verbs: ["get", "create", "patch"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["get", "create", "patch", "delete"] },
  {
    apiGroups: ["networking.k8s.io"],
    resources: ["networkpolicies", "ingresses"],
    verbs: ["get", "create", "patch", "delete"],
  },
  {
    apiGroups: ["monitoring.coreos.com"],
    resources: ["servicemonitors"],
    verbs: ["get", "create", "patch", "delete"],
  },
];
const NAMESPACED_RULES: Rule[] = [...BASE_RULES, ...MANAGED_RULES];
const NAMESPACE_RULES: Rule[] = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
];
const LEASE_RULES: Rule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    resourceNames: ["keycloak-policy-operator"],
    verbs: ["get", "update"],
  },
];

describe("Helm chart: default values", () => {
  const objects = render();

  it("given the default values, when rendered, then the Deployment runs 2 replicas with leader election in the release namespace", () => {
    const deployment = find(objects, "Deployment", FULLNAME) as unknown as { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    const args = operatorContainer(objects).args;
    expect(args[0]).toBe("run");
    expect(args).toContain("--leader-election=true");
    expect(args).toContain(`--leader-election-namespace=${NAMESPACE}`);
    expect(args).toContain("--health-bind-address=0.0.0.0:8081");
    expect(args.some((a) => a.startsWith("--namespaces"))).toBe(false);
    const identity = operatorContainer(objects).env.find((e) => e.name === "KPO_IDENTITY");
    expect(identity).toBeDefined();
  });

  it("given the Deployment, then every flag it passes is an operator setting of src/operator/config.ts", () => {
    const known = new Set(SETTINGS.map((s) => s.flag.split(" ")[0]));
    const flags = operatorContainer(objects)
      .args.filter((a) => a.startsWith("--"))
      .map((a) => a.split("=")[0]);
    expect(flags.length).toBeGreaterThan(8);
    expect(flags.filter((f) => !known.has(f))).toEqual([]);
  });

  it("given the pod, then it meets the restricted Pod Security Standard", () => {
    const pod = podSpec(objects);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(operatorContainer(objects).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("given the probes, then liveness is /healthz and readiness /readyz on the 8081 listener", () => {
    const c = operatorContainer(objects);
    expect(c.ports).toEqual([{ name: "http-metrics", containerPort: 8081, protocol: "TCP" }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http-metrics" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http-metrics" });
  });

  it("given the policy data ConfigMap, then it is mounted read-only and passed with --policy-data", () => {
    const cm = find(objects, "ConfigMap", `${FULLNAME}-policy-data`) as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(cm.data["data.json"] ?? "")).toEqual({});
    const pod = podSpec(objects);
    const volume = pod.volumes.find((v) => v.configMap?.name === `${FULLNAME}-policy-data`);
    expect(volume).toBeDefined();
    const mount = operatorContainer(objects).volumeMounts.find((m) => m.name === volume?.name);
    expect(mount).toMatchObject({ readOnly: true });
    expect(operatorContainer(objects).args).toContain(`--policy-data=${mount?.mountPath}/data.json`);
  });

  it("given cluster-wide mode, then the ClusterRoles hold exactly the rules the operator uses", () => {
    expect(rulesOf(find(objects, "ClusterRole", FULLNAME))).toEqual(NAMESPACED_RULES);
    expect(rulesOf(find(objects, "ClusterRole", `${FULLNAME}-namespaces`))).toEqual(NAMESPACE_RULES);
    expect(objects.filter((o) => o.kind === "ClusterRole")).toHaveLength(2);
  });

  it("given leader election, then Leases are granted by a Role in the release namespace only", () => {
    const role = find(objects, "Role", `${FULLNAME}-leader-election`, NAMESPACE);
    expect(rulesOf(role)).toEqual(LEASE_RULES);
    const clusterRules = objects.filter((o) => o.kind === "ClusterRole").flatMap(rulesOf);
    expect(clusterRules.flatMap((r) => r.resources)).not.toContain("leases");
  });

  it("given every rendered RBAC rule, then none uses a wildcard or an escalating verb", () => {
    const rules = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap(rulesOf);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["escalate"]));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["bind"]));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["impersonate"]));
    }
  });

  it("given the bindings, then each binds its own role to the operator's ServiceAccount", () => {
    const bindings = objects.filter(
      (o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding",
    ) as unknown as {
      kind: string;
      metadata: { name: string };
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    }[];
    expect(bindings).toHaveLength(3);
    for (const b of bindings) {
      expect(b.roleRef.kind).toBe(b.kind === "RoleBinding" ? "Role" : "ClusterRole");
      expect(b.roleRef.name).toBe(b.metadata.name);
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: FULLNAME, namespace: NAMESPACE }]);
    }
    expect(podSpec(objects).serviceAccountName).toBe(FULLNAME);
  });

  it("given the defaults, then the optional ServiceMonitor, PrometheusRule and NetworkPolicy are off and the PDB keeps one replica", () => {
    const kinds = objects.map((o) => o.kind);
    expect(kinds).not.toContain("ServiceMonitor");
    expect(kinds).not.toContain("PrometheusRule");
    expect(kinds).not.toContain("NetworkPolicy");
    expect(find(objects, "PodDisruptionBudget", FULLNAME)).toMatchObject({ spec: { minAvailable: 1 } });
    expect(find(objects, "Service", `${FULLNAME}-metrics`)).toMatchObject({
      spec: { ports: [{ port: 8081, targetPort: "http-metrics" }] },
    });
  });
});

describe("Helm chart: watchNamespaces", () => {
  const objects = render("--set", "watchNamespaces={team-a,team-b}");

  it("given watched namespaces, then Roles per namespace replace the namespaced ClusterRole and --namespaces is passed", () => {
    for (const ns of ["team-a", "team-b"]) {
      expect(rulesOf(find(objects, "Role", FULLNAME, ns))).toEqual(NAMESPACED_RULES);
      expect(find(objects, "RoleBinding", FULLNAME, ns)).toMatchObject({
        roleRef: { kind: "Role", name: FULLNAME },
      });
    }
    expect(operatorContainer(objects).args).toContain("--namespaces=team-a,team-b");
  });

  it("given watched namespaces, then the only cluster-wide permission left is reading namespaces", () => {
    const clusterRoles = objects.filter((o) => o.kind === "ClusterRole");
    expect(clusterRoles.map((o) => o.metadata.name)).toEqual([`${FULLNAME}-namespaces`]);
    expect(clusterRoles.flatMap(rulesOf)).toEqual(NAMESPACE_RULES);
  });
});

describe("Helm chart: managed instances off", () => {
  it("given managedInstances.enabled=false, then no rule for StatefulSets, Services, Pods or the optional objects is granted, cluster-wide or per namespace", () => {
    for (const extra of [[], ["--set", "watchNamespaces={team-a}"]]) {
      const objects = render("--set", "managedInstances.enabled=false", ...extra);
      const role = objects.find(
        (o) => (o.kind === "ClusterRole" || o.kind === "Role") && o.metadata.name === FULLNAME,
      );
      if (!role) throw new Error("no namespaced role rendered");
      expect(rulesOf(role)).toEqual(BASE_RULES);
    }
  });
});

describe("Helm chart: monitoring and network policy", () => {
  const objects = render(
    "--set",
    "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,networkPolicy.enabled=true",
  );
  const sources = [
    "src/observability/metrics.ts",
    "src/policy/metrics.ts",
    "src/keycloak/metrics.ts",
    "src/lifecycle/metrics.ts",
    "src/lifecycle/machineSet.ts",
    "src/policy/engine.ts",
  ]
    .map((f) => readFileSync(path.join(repoRoot, f), "utf8"))
    .join("\n");
  /** Metric names in a PromQL expression, without the _bucket/_count/_sum suffix of histograms. */
  const metricNames = (expr: string) =>
    [...expr.matchAll(/\b([a-z_]+_(?:total|status|state|seconds|depth|bytes)(?:_bucket)?)\{/g)].map((m) =>
      (m[1] ?? "").replace(/_bucket$/, ""),
    );

  it("given the PrometheusRule, then it alerts on errors, stalls, an open circuit, bundle and machine load failures and no leader", () => {
    const rule = find(objects, "PrometheusRule", FULLNAME) as unknown as {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    };
    const alerts = Object.fromEntries(rule.spec.groups.flatMap((g) => g.rules).map((r) => [r.alert, r.expr]));
    expect(Object.keys(alerts).sort()).toEqual([
      "KpoKeycloakCircuitOpen",
      "KpoMachinesLoadFailures",
      "KpoNoLeader",
      "KpoOperatorDown",
      "KpoPolicyBundleLoadFailures",
      "KpoReconcileErrors",
      "KpoResourcesStalled",
    ]);
    expect(alerts.KpoKeycloakCircuitOpen).toMatch(/kpo_keycloak_circuit_state\{[^}]*\} == 1$/);
    expect(alerts.KpoPolicyBundleLoadFailures).toContain('result="failure"');
    // The label value the alert filters on is one the operator really sets.
    expect(sources).toContain('policyBundleLoadsTotal.inc({ result: "failure" }');
    expect(alerts.KpoMachinesLoadFailures).toContain('result="failure"');
    expect(sources).toContain('machinesLoadsTotal.inc({ result: "failure" }');
    expect(alerts.KpoNoLeader).toMatch(/^sum\(leader_election_master_status\{[^}]*\}\) == 0$/);
    for (const expr of Object.values(alerts))
      for (const name of metricNames(expr)) expect(sources, `metric ${name}`).toContain(`"${name}"`);
  });

  it("given the Grafana dashboard, then it is valid JSON and queries only metrics the operator exports", () => {
    const cm = find(objects, "ConfigMap", `${FULLNAME}-dashboard`) as unknown as {
      data: Record<string, string>;
    };
    const dashboard = JSON.parse(cm.data["keycloak-policy-operator.json"] ?? "") as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    const names = exprs.flatMap(metricNames).filter((n) => n !== "process_resident_memory_bytes");
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(sources, `metric ${name}`).toContain(`"${name}"`);
  });

  it("given the ServiceMonitor, then it scrapes the metrics Service's port", () => {
    const service = find(objects, "Service", `${FULLNAME}-metrics`) as unknown as {
      metadata: { labels: Record<string, string> };
    };
    const monitor = find(objects, "ServiceMonitor", FULLNAME) as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: "http-metrics", path: "/metrics" }),
    ]);
  });

  it("given the NetworkPolicy, then ingress is limited to the health/metrics port", () => {
    const policy = find(objects, "NetworkPolicy", FULLNAME) as unknown as {
      spec: { policyTypes: string[]; ingress: { ports: { port: number }[] }[] };
    };
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual([8081]);
  });
});

describe("Helm chart: policy data override", () => {
  it("given policyData, when rendered, then the ConfigMap holds it as JSON", () => {
    const objects = render(
      "--set-json",
      'policyData={"kpo":{"quota":{"defaults":{"maxClientsPerNamespace":50}}}}',
    );
    const cm = find(objects, "ConfigMap", `${FULLNAME}-policy-data`) as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(cm.data["data.json"] ?? "")).toEqual({
      kpo: { quota: { defaults: { maxClientsPerNamespace: 50 } } },
    });
  });
});

describe("Helm chart: lifecycle machines from a ConfigMap", () => {
  const machineFiles = Object.fromEntries(
    readdirSync(DEFAULT_MACHINES_DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => [f, JSON.parse(readFileSync(path.join(DEFAULT_MACHINES_DIR, f), "utf8")) as unknown]),
  );
  const machinesVolume = (objects: K8sObject[]) => {
    const volume = podSpec(objects).volumes.find((v) => v.name === "machines");
    const mount = operatorContainer(objects).volumeMounts.find((m) => m.name === "machines");
    return { volume, mount };
  };

  it("given no machines values, when rendered, then the image's machines are used: no ConfigMap, volume or --machines", () => {
    const objects = render();
    expect(
      objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `${FULLNAME}-machines`),
    ).toBeUndefined();
    expect(machinesVolume(objects)).toEqual({ volume: undefined, mount: undefined });
    expect(operatorContainer(objects).args.some((a) => a.startsWith("--machines"))).toBe(false);
  });

  it("given machines.files, when rendered, then the ConfigMap holds the files as JSON the loader accepts, mounted read-only and passed with --machines", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kpo-chart-machines-"));
    try {
      const valuesFile = path.join(dir, "values.json");
      writeFileSync(valuesFile, JSON.stringify({ machines: { files: machineFiles } }));
      const objects = render("--values", valuesFile);
      const cm = find(objects, "ConfigMap", `${FULLNAME}-machines`) as unknown as {
        data: Record<string, string>;
      };
      expect(Object.keys(cm.data).sort()).toEqual(Object.keys(machineFiles).sort());
      const rendered = mkdtempSync(path.join(dir, "machines-"));
      for (const [name, text] of Object.entries(cm.data)) {
        expect(JSON.parse(text)).toEqual(machineFiles[name]);
        writeFileSync(path.join(rendered, name), text);
      }
      expect([...loadMachines(rendered).keys()].sort()).toEqual([
        "KeycloakClient",
        "KeycloakInstance",
        "KeycloakRealm",
        "KeycloakUser",
      ]);
      const { volume, mount } = machinesVolume(objects);
      expect(volume?.configMap?.name).toBe(`${FULLNAME}-machines`);
      expect(mount).toMatchObject({ mountPath: "/etc/kpo/machines", readOnly: true });
      expect(operatorContainer(objects).args).toContain(`--machines=${mount?.mountPath}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("given machines.existingConfigMap, when rendered, then that ConfigMap is mounted and the chart renders none", () => {
    const objects = render("--set", "machines.existingConfigMap=my-machines");
    expect(
      objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `${FULLNAME}-machines`),
    ).toBeUndefined();
    const { volume, mount } = machinesVolume(objects);
    expect(volume?.configMap?.name).toBe("my-machines");
    expect(operatorContainer(objects).args).toContain(`--machines=${mount?.mountPath}`);
  });

  it("given a machine file name that is not *.json, when rendered, then helm refuses it", () => {
    expect(renderError("--set-json", 'machines.files={"realm.yaml":{}}')).toContain(
      "'realm.yaml' does not match pattern",
    );
  });
});

describe("Helm chart: values schema", () => {
  it("given a typo'd value at any level, when rendered, then helm refuses it", () => {
    expect(renderError("--set", "replicaCont=3")).toContain(
      "additional properties 'replicaCont' not allowed",
    );
    expect(renderError("--set", "metrics.prometheusRule.enabeld=true")).toContain(
      "additional properties 'enabeld' not allowed",
    );
    expect(renderError("--set", "operator.keycloak.rat=5")).toContain(
      "additional properties 'rat' not allowed",
    );
  });

  it("given a value of the wrong type or outside its range, when rendered, then helm refuses it", () => {
    expect(renderError("--set", "replicaCount=two")).toContain("replicaCount");
    expect(renderError("--set", "operator.workers=0")).toContain("workers");
    expect(renderError("--set", "watchNamespaces={Not_A_Namespace}")).toContain("watchNamespaces");
    expect(renderError("--set", "operator.logLevel=verbose")).toContain("logLevel");
  });

  it("given a ServiceMonitor without the metrics Service it selects, when rendered, then helm refuses it", () => {
    expect(
      renderError("--set", "metrics.serviceMonitor.enabled=true,metrics.service.enabled=false"),
    ).toContain("needs metrics.service.enabled");
  });

  it("given a single replica without leader election, when rendered, then the Deployment passes --leader-election=false", () => {
    const objects = render("--set", "replicaCount=1,leaderElection.enabled=false");
    expect(
      (find(objects, "Deployment", FULLNAME) as unknown as { spec: { replicas: number } }).spec.replicas,
    ).toBe(1);
    expect(operatorContainer(objects).args).toContain("--leader-election=false");
  });

  it("given API server CIDRs for the NetworkPolicy, when rendered, then its egress allows them", () => {
    const objects = render(
      "--set",
      "networkPolicy.enabled=true",
      "--set",
      "networkPolicy.apiServer.cidrs={10.0.0.1/32}",
    );
    expect(JSON.stringify(find(objects, "NetworkPolicy", FULLNAME))).toContain('"cidr":"10.0.0.1/32"');
  });

  it("given the schema, then every object that lists its properties forbids additional ones", () => {
    const schema = JSON.parse(readFileSync(path.join(chartDir, "values.schema.json"), "utf8")) as unknown;
    const open: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (typeof node !== "object" || node === null) return;
      const n = node as Record<string, unknown>;
      if (n.properties && n.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(n)) walk(v, `${at}/${k}`);
    };
    walk(schema, "#");
    expect(open).toEqual([]);
  });

  it("given values.yaml, then every value is commented, on itself or on the block that holds it", () => {
    const doc = parseDocument(readFileSync(path.join(chartDir, "values.yaml"), "utf8"));
    const undocumented: string[] = [];
    const walk = (node: Node | null, at: string, documented: boolean) => {
      if (!isMap(node)) return;
      node.items.forEach((pair, i) => {
        if (!isPair(pair) || !isScalar(pair.key)) return;
        // The first key's comment is attached to the map (or the document) by the parser.
        const comment =
          pair.key.commentBefore ??
          (i === 0 ? (node.commentBefore ?? (at === "" ? doc.commentBefore : null)) : null);
        const here = documented || Boolean(comment?.trim());
        const key = `${at}${at ? "." : ""}${String(pair.key.value)}`;
        if (isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, key, here);
        else if (!here) undocumented.push(key);
      });
    };
    walk(doc.contents, "", false);
    expect(undocumented).toEqual([]);
  });
});

describe("Helm chart: CRDs", () => {
  it("given the chart's crds/, then they are byte-identical copies of the repo's crds/", () => {
    const repoCrds = readdirSync(path.join(repoRoot, "crds"))
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    const chartCrds = readdirSync(path.join(chartDir, "crds")).sort();
    expect(chartCrds).toEqual(repoCrds);
    expect(repoCrds).toHaveLength(4);
    for (const file of repoCrds)
      expect(readFileSync(path.join(chartDir, "crds", file), "utf8"), file).toBe(
        readFileSync(path.join(repoRoot, "crds", file), "utf8"),
      );
  });
});
