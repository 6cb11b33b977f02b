// Where the pinned external tools live. scripts/tools.sh builds them into the cache and prints
// their paths; an environment variable of the same name overrides each one.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export interface ToolPaths {
  KPO_KUBE_APISERVER: string;
  KPO_ETCD: string;
  /** The single test node (src/testenv/node.ts). */
  KPO_KUBELET: string;
  KPO_KUBE_CONTROLLER_MANAGER: string;
  KPO_KUBE_SCHEDULER: string;
  KPO_KUBECTL: string;
  /** OCI image archives the node imports at start (scripts/node-images.sh and others); managed/ holds the Keycloak image the managed-instance e2e test imports itself. */
  KPO_IMAGES_DIR: string;
  KPO_CONTAINERD: string;
  KPO_CTR: string;
  KPO_CNI_BIN_DIR: string;
  KPO_OPA: string;
  KPO_HELM: string;
  KPO_KEYCLOAK_HOME: string;
  /** OpenLDAP from Debian's slapd and ldap-utils packages (src/testenv/ldap.ts). */
  KPO_SLAPD: string;
  KPO_SLAPADD: string;
  KPO_LDAPMODIFY: string;
  KPO_LDAPWHOAMI: string;
  /** PostgreSQL's server binaries (initdb, postgres, psql) from Debian's postgresql-15 (src/testenv/postgres.ts). */
  KPO_POSTGRES_BIN_DIR: string;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let cached: ToolPaths | undefined;

export function toolPaths(): ToolPaths {
  if (cached) return cached;
  const printed = execFileSync("bash", [path.join(repoRoot, "scripts/tools.sh"), "--env"], {
    encoding: "utf8",
  });
  const fromScript = Object.fromEntries(
    printed
      .split("\n")
      .map((line) => line.split("="))
      .filter((parts): parts is [string, string] => parts.length === 2),
  ) as Partial<ToolPaths>;
  const keys: (keyof ToolPaths)[] = [
    "KPO_KUBE_APISERVER",
    "KPO_ETCD",
    "KPO_KUBELET",
    "KPO_KUBE_CONTROLLER_MANAGER",
    "KPO_KUBE_SCHEDULER",
    "KPO_KUBECTL",
    "KPO_IMAGES_DIR",
    "KPO_CONTAINERD",
    "KPO_CTR",
    "KPO_CNI_BIN_DIR",
    "KPO_OPA",
    "KPO_HELM",
    "KPO_KEYCLOAK_HOME",
    "KPO_SLAPD",
    "KPO_SLAPADD",
    "KPO_LDAPMODIFY",
    "KPO_LDAPWHOAMI",
    "KPO_POSTGRES_BIN_DIR",
  ];
  const resolved = {} as ToolPaths;
  for (const key of keys) {
    const value = process.env[key] ?? fromScript[key];
    if (!value) throw new Error(`scripts/tools.sh --env did not print ${key}`);
    resolved[key] = value;
  }
  cached = resolved;
  return resolved;
}

/** Fails with the command to run when a tool has not been provisioned yet. */
export function requireTool(key: keyof ToolPaths): string {
  const value = toolPaths()[key];
  if (!existsSync(value)) {
    throw new Error(`${key} not found at ${value}: run 'make tools' (scripts/tools.sh) first`);
  }
  return value;
}
