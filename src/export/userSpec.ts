// A Keycloak user (one entry of a full realm export's `users`, as `kc.sh export` writes it) → the
// KeycloakUser spec that reproduces it: the inverse of desiredUser
// (src/resources/userRepresentation.ts) and of what the user sync (src/keycloak/userSync.ts) adds.
// Pure: no I/O, no logging.
//
// A new user gets the realm's default role and default groups from Keycloak: those are left out
// (groups are written whole when they differ, since spec.groups is exact). Keycloak makes a new
// user disabled, the CRD enables it by default, so a disabled user says enabled: false. Passwords
// are exported as hashes, which no spec can carry: a user with one gets
// spec.initialPasswordSecretRef naming a Secret to fill in (report.secret), and a temporary
// password (UPDATE_PASSWORD its only required action) becomes initialPasswordTemporary. Service
// accounts belong to their client's spec.serviceAccount; master-realm users are never managed.
import type { KeycloakUserSpec } from "../api/index.js";
import { isReservedUser, serviceAccountUserPrefix } from "../keycloak/userSync.js";
import { defaultRoleName } from "./clientSpec.js";
import { forRealm, keycloakDefaults, type KeycloakDefaults, type Representation } from "./defaults.js";
import { isOperatorAttribute } from "./exportContext.js";
import { reportOwnerMarker } from "./operatorMarkers.js";
import { childPath, itemPath, type ExportReport } from "./report.js";

export type UserSpecBody = Omit<KeycloakUserSpec, "realmRef" | "adopt">;

export interface UserExportOptions {
  defaults?: KeycloakDefaults;
  /**
   * Prefix of the Secrets the spec references, unique per user (the caller passes the resource's
   * name): the initial password goes to `<prefix>-password`. By default the username, made a
   * valid Kubernetes name.
   */
  secretPrefix?: string;
}

/** Keycloak's required action for a temporary password. */
const updatePassword = "UPDATE_PASSWORD";

/** Attributes an LDAP provider keeps on the users it imports. */
const federationAttributes = new Set(["LDAP_ID", "LDAP_ENTRY_DN", "createTimestamp", "modifyTimestamp"]);

/** The user representation's fields the conversion reads, or that Keycloak computes. */
const handled = new Set([
  "id",
  "createdTimestamp",
  "username",
  "enabled",
  "emailVerified",
  "email",
  "firstName",
  "lastName",
  "attributes",
  "groups",
  "realmRoles",
  "clientRoles",
  "requiredActions",
  "credentials",
  "federatedIdentities",
  "federationLink",
  "serviceAccountClientId",
  "notBefore",
  // Computed by Keycloak: whether an OTP credential exists (reported with the credentials), what
  // the reading administrator may do, where the representation came from, and the profile's view.
  "totp",
  "access",
  "origin",
  "self",
  "disableableCredentialTypes",
  "userProfileMetadata",
]);

const reasons: Record<string, string> = {
  clientConsents: "consents the user gave to clients; a new user gives them again at login",
  socialLinks: "replaced by federatedIdentities (spec.federatedIdentities) in Keycloak's representation",
  applicationRoles: "replaced by clientRoles (spec.clientRoles) in Keycloak's representation",
};

/** A Kubernetes object name made from a username (lower case, `[a-z0-9.-]`). */
function objectName(username: string): string {
  const name = username
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return (name === "" ? "user" : name).slice(0, 200);
}

const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function userSpecFromRepresentation(
  user: Representation,
  realm: Representation,
  report: ExportReport,
  options: UserExportOptions = {},
): UserSpecBody | undefined {
  const defaults = options.defaults ?? keycloakDefaults;
  const username = String(user.username);
  const realmName = typeof realm.realm === "string" ? realm.realm : "";
  const path = itemPath("$", "users", "username", username);
  // A service account is its client's (spec.serviceAccount of the KeycloakClient).
  if (typeof user.serviceAccountClientId === "string" || username.startsWith(serviceAccountUserPrefix))
    return undefined;
  if (isReservedUser(username, realmName)) {
    report.notExpressed(
      path,
      "a user of the master realm, which a KeycloakUser never creates, adopts or changes",
    );
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9._@+-]*$/.test(username) || username.length < 3 || username.length > 255) {
    report.notExpressed(
      path,
      "the username is not one the KeycloakUser CRD accepts (3 to 255 of a-z 0-9 . _ @ + -, starting with a letter or digit)",
    );
    return undefined;
  }
  const fresh = forRealm(defaults.user, realmName);
  const spec: UserSpecBody = { username };
  // Keycloak's new user is disabled, the CRD's is enabled: say which this one is when it is not the CRD's.
  if (user.enabled === false) spec.enabled = false;
  if (user.emailVerified === true && user.emailVerified !== fresh.emailVerified) spec.emailVerified = true;
  for (const key of ["email", "firstName", "lastName"] as const) {
    const value = user[key];
    if (typeof value === "string" && value !== "") spec[key] = value;
  }
  if (spec.email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(spec.email)) {
    report.notExpressed(childPath(path, "email"), "not an email address the KeycloakUser CRD accepts");
    delete spec.email;
  }
  Object.assign(spec, attributesSpec(user, path, report));
  Object.assign(spec, membershipSpec(user, realm, realmName, path, report));
  Object.assign(spec, credentialsSpec(user, path, report, options.secretPrefix ?? objectName(username)));
  const links = Array.isArray(user.federatedIdentities) ? (user.federatedIdentities as Representation[]) : [];
  if (links.length > 0)
    spec.federatedIdentities = links.map((l) => ({
      identityProvider: String(l.identityProvider),
      userId: String(l.userId),
      userName: String(l.userName),
    }));
  if (typeof user.federationLink === "string" && user.federationLink !== "")
    report.notExpressed(
      childPath(path, "federationLink"),
      `a user of user federation provider ${user.federationLink}: the directory holds it and Keycloak imports it from there; a KeycloakUser would make a local user instead`,
    );
  if (typeof user.notBefore === "number" && user.notBefore !== 0)
    report.notExpressed(
      childPath(path, "notBefore"),
      "a revocation action, not a setting: tokens issued before it are rejected (as for realms and clients)",
    );
  for (const [key, value] of Object.entries(user)) {
    if (handled.has(key) || isEmpty(value) || JSON.stringify(value) === JSON.stringify(fresh[key])) continue;
    report.notExpressed(childPath(path, key), reasons[key] ?? "the KeycloakUser CRD has no field for it");
  }
  return spec;
}

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === "" ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function attributesSpec(user: Representation, path: string, report: ExportReport): Partial<UserSpecBody> {
  const attributes = (user.attributes ?? {}) as Record<string, unknown>;
  const at = childPath(path, "attributes");
  reportOwnerMarker(attributes, at, "KeycloakUser", report);
  const federated = typeof user.federationLink === "string" && user.federationLink !== "";
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (isOperatorAttribute(key)) continue;
    if (federated && federationAttributes.has(key)) {
      report.notExpressed(childPath(at, key), "kept by the user federation provider the user comes from");
      continue;
    }
    out[key] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  return Object.keys(out).length > 0 ? { attributes: out } : {};
}

/**
 * Groups, realm roles and client roles. A new user is in the realm's default groups and has its
 * default role: groups differing from those are written whole (spec.groups is exact), the default
 * role is left out of the roles (spec.realmRoles only adds), and a user without it is reported.
 */
function membershipSpec(
  user: Representation,
  realm: Representation,
  realmName: string,
  path: string,
  report: ExportReport,
): Partial<UserSpecBody> {
  const spec: Partial<UserSpecBody> = {};
  if (Array.isArray(user.groups)) {
    const groups = stringList(user.groups);
    const defaults = stringList(realm.defaultGroups);
    const same = groups.length === defaults.length && defaults.every((g) => groups.includes(g));
    if (!same) spec.groups = groups;
  }
  if (Array.isArray(user.realmRoles)) {
    const defaultRole = defaultRoleName(realm, realmName);
    const roles = stringList(user.realmRoles);
    if (!roles.includes(defaultRole))
      report.notExpressed(
        childPath(path, "realmRoles"),
        `the user lacks the realm's default role ${defaultRole}; a new user gets it, and a KeycloakUser never removes a role it did not map`,
      );
    const direct = roles.filter((r) => r !== defaultRole);
    if (direct.length > 0) spec.realmRoles = direct;
  }
  const clientRoles = Object.fromEntries(
    Object.entries((user.clientRoles ?? {}) as Record<string, unknown>)
      .map(([clientId, names]) => [clientId, stringList(names)] as const)
      .filter(([, names]) => names.length > 0),
  );
  if (Object.keys(clientRoles).length > 0) spec.clientRoles = clientRoles;
  return spec;
}

/**
 * The password becomes a Secret reference (the value only when the input has it in clear, as an
 * import file may); other credentials are the user's own and are reported.
 */
function credentialsSpec(
  user: Representation,
  path: string,
  report: ExportReport,
  secretPrefix: string,
): Partial<UserSpecBody> {
  const credentials = Array.isArray(user.credentials) ? (user.credentials as Representation[]) : [];
  const requiredActions = stringList(user.requiredActions);
  const spec: Partial<UserSpecBody> = {};
  const password = credentials.find((c) => c.type === "password");
  for (const credential of credentials) {
    if (credential === password) continue;
    report.notExpressed(
      itemPath(path, "credentials", "type", String(credential.type)),
      "a credential the user registered (OTP, passkey, …); a KeycloakUser sets only an initial password, the user registers the rest again",
    );
  }
  if (password) {
    const name = `${secretPrefix}-password`;
    const value = typeof password.value === "string" && password.value !== "" ? password.value : undefined;
    spec.initialPasswordSecretRef = { name };
    report.secret({
      name,
      key: "password",
      ...(value === undefined ? {} : { value }),
      field: "spec.initialPasswordSecretRef",
    });
    if (value === undefined)
      report.notExpressed(
        itemPath(path, "credentials", "type", "password"),
        `Keycloak exports only the password's hash, which cannot be set again: put a password in Secret ${name} (key password) before applying; the user gets it once, when the operator creates the user`,
      );
  }
  // A temporary password is the UPDATE_PASSWORD action Keycloak added with it; with other actions
  // the list is exact (spec.requiredActions), so it is written whole instead.
  if (password && requiredActions.length === 1 && requiredActions[0] === updatePassword)
    spec.initialPasswordTemporary = true;
  else if (requiredActions.length > 0) spec.requiredActions = requiredActions;
  return spec;
}
