// The API of keycloak-policy-operator: group, version, names and the TypeScript shape of each kind.
// Spec and status types are generated from crds/*.yaml (types.generated.ts); this module adds the
// object envelopes and names for the nested shapes the rest of the operator passes around.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type {
  KeycloakClientSpec,
  KeycloakClientStatus,
  KeycloakInstanceSpec,
  KeycloakInstanceStatus,
  KeycloakRealmSpec,
  KeycloakRealmStatus,
  KeycloakUserSpec,
  KeycloakUserStatus,
} from "./types.generated.js";

export type * from "./types.generated.js";

export const GROUP = "keycloak.kpo.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const INSTANCE_KIND = "KeycloakInstance";
export const REALM_KIND = "KeycloakRealm";
export const CLIENT_KIND = "KeycloakClient";
export const USER_KIND = "KeycloakUser";

export const INSTANCE_PLURAL = "keycloakinstances";
export const REALM_PLURAL = "keycloakrealms";
export const CLIENT_PLURAL = "keycloakclients";
export const USER_PLURAL = "keycloakusers";

/** Every kind the operator manages, in dependency order (an instance before its realms, …). */
export const KINDS = [INSTANCE_KIND, REALM_KIND, CLIENT_KIND, USER_KIND] as const;
export type KeycloakKind = (typeof KINDS)[number];

/** Plural resource name of each kind, as used in API paths and RBAC rules. */
export const PLURALS: Readonly<Record<KeycloakKind, string>> = {
  KeycloakInstance: INSTANCE_PLURAL,
  KeycloakRealm: REALM_PLURAL,
  KeycloakClient: CLIENT_PLURAL,
  KeycloakUser: USER_PLURAL,
};

/** Short names for `kubectl get` (also listed by `kubectl get keycloak`, the category). */
export const SHORT_NAMES: Readonly<Record<KeycloakKind, string>> = {
  KeycloakInstance: "kci",
  KeycloakRealm: "kcr",
  KeycloakClient: "kcc",
  KeycloakUser: "kcu",
};

export const CATEGORY = "keycloak";

/** Every `status.phase` (the CRDs' enum): the state of the resource's lifecycle machine. */
export type Phase = NonNullable<KeycloakRealmStatus["phase"]>;
/** The phases at run time, in the schema's order; the check below fails to compile if one is missing. */
export const PHASES = [
  "Pending",
  "Provisioning",
  "Ready",
  "Degraded",
  "Failed",
  "Deleting",
] as const satisfies readonly Phase[];
type UnlistedPhase = Exclude<Phase, (typeof PHASES)[number]>;
export const everyPhaseListed: [UnlistedPhase] extends [never] ? true : UnlistedPhase = true;

/** Condition types the operator sets: kstatus-compatible Ready/Reconciling/Stalled plus PolicyCompliant. */
export const CONDITION_TYPES = ["Ready", "Reconciling", "Stalled", "PolicyCompliant"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** A status condition (metav1.Condition shape). */
export type Condition = NonNullable<KeycloakRealmStatus["conditions"]>[number];
export type ConditionStatus = Condition["status"];

/** Fields every kind's status has, as stored (any of them may be missing). */
export type CommonStatus = Pick<
  KeycloakRealmStatus,
  | "phase"
  | "conditions"
  | "observedGeneration"
  | "attempts"
  | "nextAttemptAt"
  | "policyRevision"
  | "lastError"
>;

interface KeycloakObject<K extends KeycloakKind, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: V1ObjectMeta;
  spec: Spec;
  /** Absent until the operator first writes it. */
  status?: Status;
}

export type KeycloakInstance = KeycloakObject<
  "KeycloakInstance",
  KeycloakInstanceSpec,
  KeycloakInstanceStatus
>;
export type KeycloakRealm = KeycloakObject<"KeycloakRealm", KeycloakRealmSpec, KeycloakRealmStatus>;
export type KeycloakClient = KeycloakObject<"KeycloakClient", KeycloakClientSpec, KeycloakClientStatus>;
export type KeycloakUser = KeycloakObject<"KeycloakUser", KeycloakUserSpec, KeycloakUserStatus>;
export type KeycloakResource = KeycloakInstance | KeycloakRealm | KeycloakClient | KeycloakUser;

// Names for nested shapes, derived from the generated types so they cannot drift from the schema.
export type ExternalInstance = NonNullable<KeycloakInstanceSpec["external"]>;
export type ManagedInstance = NonNullable<KeycloakInstanceSpec["managed"]>;
export type DatabaseVendor = ManagedInstance["database"]["vendor"];
/** Namespaces allowed to use an instance (realmGrants) or a realm (clientGrants, userGrants). */
export type NamespaceGrants = NonNullable<KeycloakInstanceSpec["realmGrants"]>;
export type InstanceRef = KeycloakRealmSpec["instanceRef"];
export type RealmRef = KeycloakClientSpec["realmRef"];
export type DeletionPolicy = NonNullable<KeycloakRealmSpec["deletionPolicy"]>;
export type RealmTokens = NonNullable<KeycloakRealmSpec["tokens"]>;
export type RealmSmtp = NonNullable<KeycloakRealmSpec["smtp"]>;
export type RealmBruteForceProtection = NonNullable<KeycloakRealmSpec["bruteForceProtection"]>;
export type RealmThemes = NonNullable<KeycloakRealmSpec["themes"]>;
export type RealmRole = NonNullable<KeycloakRealmSpec["roles"]>[number];
/** A top-level group; subGroups nest two more levels (the schema cannot recurse). */
export type RealmGroup = NonNullable<KeycloakRealmSpec["groups"]>[number];
export type RealmSubGroup = NonNullable<RealmGroup["subGroups"]>[number];
export type RealmLeafGroup = NonNullable<RealmSubGroup["subGroups"]>[number];
export type RealmLdapProvider = NonNullable<NonNullable<KeycloakRealmSpec["userFederation"]>["ldap"]>[number];
export type RealmLdapMapper = NonNullable<RealmLdapProvider["mappers"]>[number];
export type AuthenticationFlow = NonNullable<KeycloakRealmSpec["authenticationFlows"]>[number];
export type FlowExecution = AuthenticationFlow["executions"][number];
export type FlowBindings = NonNullable<KeycloakRealmSpec["flowBindings"]>;
export type RequiredAction = NonNullable<KeycloakRealmSpec["requiredActions"]>[number];
export type ClientFlowOverrides = NonNullable<KeycloakClientSpec["authenticationFlowBindingOverrides"]>;
export type ClientTokens = NonNullable<KeycloakClientSpec["tokens"]>;
export type ClientRole = NonNullable<KeycloakClientSpec["roles"]>[number];
export type ProtocolMapper = NonNullable<KeycloakClientSpec["protocolMappers"]>[number];
export type RealmClientScope = NonNullable<KeycloakRealmSpec["clientScopes"]>[number];
export type ServiceAccountRoles = NonNullable<KeycloakClientSpec["serviceAccount"]>;
export type ClientSecretSpec = NonNullable<KeycloakClientSpec["secret"]>;
/** Composite roles of a realm or client role: realm role names and client roles keyed by client ID. */
export type RoleComposites = NonNullable<RealmRole["composites"]>;

export { clientSecretName, instanceRefOf, realmRefOf, type ResolvedRef } from "./refs.js";
