// The policy decision contract shared by the policy engine, the lifecycle machines and the CLI.
// See docs/policy-authoring.md ("The input document", "The decision contract"). The Rego
// entrypoint `kpo/decision` returns a Decision.
import type { LiveGroup, LiveRole, PrivilegeFacts } from "./privilege.js";
import type { KeycloakKind } from "../api/index.js";

/** How a policy's violations are acted on (Gatekeeper / Kyverno vocabulary). */
export type Enforcement = "enforce" | "warn" | "dryrun";

/** What the operator is about to do with the resource. */
export type Operation = "create" | "update" | "delete";

export type ResourceKind = KeycloakKind;

export interface Violation {
  /** Policy package that produced it, e.g. "authorization", "quota", "production". */
  policy: string;
  /** Stable machine-readable code, e.g. "RealmNamespaceNotGranted". */
  code: string;
  /** What is wrong, on which object and field, and how to fix it. */
  message: string;
  enforcement: Enforcement;
}

export interface Decision {
  /** False only when at least one violation has enforcement "enforce". */
  allowed: boolean;
  violations: Violation[];
  /** Messages of violations in "warn" mode; they do not block. */
  warnings: string[];
}

export interface NamespaceFacts {
  name: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Everything a policy may look at, gathered before the machine runs, so guards are synchronous and
 * pure: by src/policy/input.ts, from the operator's caches or from `kpo policy eval`'s documents.
 */
export interface PolicyInput {
  operation: Operation;
  kind: ResourceKind;
  /** The custom resource as stored in the API server (metadata + spec). */
  resource: {
    apiVersion?: string;
    kind?: string;
    metadata: { name: string; namespace: string; labels?: Record<string, string>; [k: string]: unknown };
    spec: Record<string, unknown>;
  };
  namespace: NamespaceFacts;
  /** The objects the resource points at: the instance of a realm, the realm (and its instance) of a client or user. */
  target: {
    instance?: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
    realm?: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
    /**
     * For a client: the other KeycloakClients of its realm whose roles its spec names, with their
     * spec.roleGrants only. Absent when it names none.
     */
    clients?: Array<{
      clientId: string;
      metadata: { name: string; namespace: string };
      spec: { roleGrants: Record<string, unknown> };
    }>;
  };
  /** Counts for quotas, excluding the resource itself. */
  counts: {
    realmsInNamespace?: number;
    clientsInNamespace?: number;
    clientsInRealm?: number;
    usersInNamespace?: number;
  };
  environment: Record<string, unknown>;
  /**
   * Derived from resource.spec by the engine (src/policy/compactInput.ts), never by callers: every
   * object below the spec that has a `namespace` key. Policies read it instead of walking the spec.
   */
  namespaceRefs?: NamespaceRef[];
  /**
   * Live composites of the roles the spec's grants reach, read from Keycloak by the operator right
   * before it writes (src/operator/privilegeCheck.ts). The engine folds them into `privilege`.
   */
  keycloakRoles?: LiveRole[];
  /**
   * For a user: the live role mappings of the groups its spec makes it a member of (and their
   * parents, whose roles members inherit), read like keycloakRoles. The engine folds them in too.
   */
  keycloakGroups?: LiveGroup[];
  /**
   * Derived by the engine, never by callers: every grant the spec makes and each role it confers,
   * composites expanded (src/policy/privilege.ts).
   */
  privilege?: PrivilegeFacts;
}

/** An object in a resource's spec that names a namespace: its path below spec, and that namespace. */
export interface NamespaceRef {
  path: (string | number)[];
  namespace: unknown;
}

/** A synchronous, pure decision function: what guards call. */
export type DecideFn = (input: PolicyInput) => Decision;
