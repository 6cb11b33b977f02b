// The chart's optional PolicyReports (policyReports.*): off by default, and when on, the CRDs
// (unless another tool installed them), the rules the writer uses (src/operator/policyReports.ts)
// and --policy-reports.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot, requireTool } from "../../src/testenv/tools.js";

const chartDir = path.join(repoRoot, "charts/keycloak-policy-operator");
const FULLNAME = "kpo-keycloak-policy-operator";

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
  spec?: { template?: { spec: { containers: Array<{ name: string; args: string[] }> } } };
}

function render(...args: string[]): Obj[] {
  const out = execFileSync(
    requireTool("KPO_HELM"),
    ["template", "kpo", chartDir, "--namespace", "kpo-system", ...args],
    { encoding: "utf8" },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const args = (objects: Obj[]) =>
  objects
    .find((o) => o.kind === "Deployment")
    ?.spec?.template?.spec.containers.find((c) => c.name === "operator")?.args ?? [];
const crdNames = (objects: Obj[]) =>
  objects.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name);
const reportRules = (objects: Obj[]) =>
  objects
    .filter(
      (o) => (o.kind === "ClusterRole" || o.kind === "Role") && o.metadata.name.endsWith("-policy-reports"),
    )
    .map((o) => ({ kind: o.kind, namespace: o.metadata.namespace, rules: o.rules }));

describe("Helm chart: policy reports", () => {
  it("given the defaults, then no PolicyReport CRD or rule is rendered and the operator runs with --policy-reports=false", () => {
    const objects = render();
    expect(crdNames(objects)).toEqual([]);
    expect(reportRules(objects)).toEqual([]);
    expect(args(objects)).toContain("--policy-reports=false");
  });

  it("given policyReports.enabled, then both CRDs (kept on uninstall), the writer's rules and --policy-reports=true are rendered", () => {
    const objects = render("--set", "policyReports.enabled=true");
    expect(crdNames(objects).sort()).toEqual([
      "clusterpolicyreports.wgpolicyk8s.io",
      "policyreports.wgpolicyk8s.io",
    ]);
    for (const crd of objects.filter((o) => o.kind === "CustomResourceDefinition"))
      expect(crd.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(args(objects)).toContain("--policy-reports=true");
    expect(reportRules(objects)).toEqual([
      {
        kind: "ClusterRole",
        namespace: undefined,
        rules: [
          {
            apiGroups: ["wgpolicyk8s.io"],
            resources: ["policyreports"],
            verbs: ["list", "create", "update", "delete"],
          },
          { apiGroups: ["wgpolicyk8s.io"], resources: ["clusterpolicyreports"], verbs: ["create"] },
          {
            apiGroups: ["wgpolicyk8s.io"],
            resources: ["clusterpolicyreports"],
            resourceNames: ["kpo-policy"],
            verbs: ["get", "update"],
          },
        ],
      },
    ]);
    expect(
      objects.find(
        (o) => o.kind === "ClusterRoleBinding" && o.metadata.name === `${FULLNAME}-policy-reports`,
      ),
    ).toBeDefined();
  });

  it("given CRDs brought by another tool and watched namespaces, then no CRD is rendered and PolicyReports are granted per namespace only", () => {
    const objects = render(
      "--set",
      "policyReports.enabled=true,policyReports.installCrds=false,watchNamespaces={team-a,team-b}",
    );
    expect(crdNames(objects)).toEqual([]);
    const rules = reportRules(objects);
    expect(rules.filter((r) => r.kind === "Role").map((r) => r.namespace)).toEqual(["team-a", "team-b"]);
    const cluster = rules.find((r) => r.kind === "ClusterRole");
    expect(cluster?.rules?.flatMap((r) => r.resources)).toEqual([
      "clusterpolicyreports",
      "clusterpolicyreports",
    ]);
  });
});
