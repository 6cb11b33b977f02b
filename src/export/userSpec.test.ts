import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KeycloakUserSpec } from "../api/index.js";
import { ownerAttributes } from "../keycloak/ownership.js";
import { passwordInitializedAttribute, userRolesAttribute } from "../keycloak/userSync.js";
import { packageRoot } from "../packageRoot.js";
import { desiredUser } from "../resources/userRepresentation.js";
import { forRealm, keycloakDefaults, type Representation } from "./defaults.js";
import { ExportReport } from "./report.js";
import { userSpecFromRepresentation, type UserSpecBody } from "./userSpec.js";

const realmName = "retail";
const realm: Representation = {
  realm: realmName,
  defaultRole: { name: `default-roles-${realmName}`, composite: true },
  defaultGroups: ["/customers"],
};
const hash = '{"value":"c2VjcmV0LWhhc2gtdmFsdWU=","salt":"c2FsdA==","additionalParameters":{}}';
const initialPassword = "initial-password-value";

/**
 * The user as `kc.sh export` writes it after the operator created it from `spec`: Keycloak's new
 * user, the CRD's defaults applied by the API server (enabled), the operator's fields and markers,
 * and what Keycloak adds itself (the default role and groups, the password's hash, UPDATE_PASSWORD
 * for a temporary password).
 */
function stored(spec: KeycloakUserSpec): Representation {
  const secrets = new Map([["spec.initialPasswordSecretRef", initialPassword]]);
  const desired = desiredUser({ enabled: true, ...spec }, secrets);
  const password = desired.initialPassword;
  return {
    ...structuredClone(forRealm(keycloakDefaults.user, realmName)),
    id: "user-uuid",
    createdTimestamp: 1_700_000_000_000,
    ...desired.user,
    attributes: {
      ...desired.user.attributes,
      ...Object.fromEntries(
        Object.entries(ownerAttributes({ uid: "u1", namespace: "shop", name: "u" })).map(([k, v]) => [
          k,
          [v],
        ]),
      ),
      ...(password ? { [passwordInitializedAttribute]: ["true"] } : {}),
      ...(desired.roles ? { [userRolesAttribute]: ["[]"] } : {}),
    },
    requiredActions: desired.user.requiredActions ?? (password?.temporary ? ["UPDATE_PASSWORD"] : []),
    credentials: password
      ? [
          {
            id: "cred-1",
            type: "password",
            createdDate: 1,
            secretData: hash,
            credentialData: '{"hashIterations":5}',
          },
        ]
      : [],
    realmRoles: [`default-roles-${realmName}`, ...(desired.roles?.realm ?? [])],
    clientRoles: desired.roles?.client ?? {},
    groups: desired.groups ?? realm.defaultGroups,
    ...(desired.federatedIdentities ? { federatedIdentities: desired.federatedIdentities } : {}),
  };
}

/**
 * What the export can give back. Normalised only where it must be: fields that are not Keycloak's
 * (realmRef, adopt, deletionPolicy); values equal to what a new user gets anyway (enabled is the
 * CRD's default, emailVerified false, the realm's default groups, the Secret key's default); and
 * the Secret's name, which the export makes from the prefix it is given.
 */
function expectedBack(spec: KeycloakUserSpec, secretPrefix: string): UserSpecBody {
  const { realmRef: _r, adopt: _a, deletionPolicy: _d, ...body } = structuredClone(spec);
  if (body.enabled === true) delete body.enabled;
  if (body.emailVerified === false) delete body.emailVerified;
  if (body.initialPasswordTemporary === false) delete body.initialPasswordTemporary;
  if (JSON.stringify(body.groups) === JSON.stringify(realm.defaultGroups)) delete body.groups;
  if (body.initialPasswordSecretRef) body.initialPasswordSecretRef = { name: `${secretPrefix}-password` };
  return body;
}

function exampleUsers(): { file: string; spec: KeycloakUserSpec }[] {
  const root = join(packageRoot(), "examples");
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".yaml"));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(root, file), "utf8"))
      .map((d) => d.toJS() as { kind?: string; spec?: KeycloakUserSpec } | null)
      .filter((d) => d?.kind === "KeycloakUser")
      .map((d) => ({ file, spec: d?.spec as KeycloakUserSpec })),
  );
}

const realmRef = { name: "retail" };
const richSpecs: Record<string, KeycloakUserSpec> = {
  "a user with every field but a password": {
    realmRef,
    username: "jane.doe@example.com",
    email: "jane@example.com",
    emailVerified: true,
    firstName: "Jane",
    lastName: "Doe",
    enabled: false,
    attributes: { department: ["sales"], phone: ["1", "2"] },
    groups: ["/staff", "/staff/ops"],
    realmRoles: ["support", "reporter"],
    clientRoles: { "orders-api": ["orders:read"], billing: ["pay"] },
    requiredActions: ["VERIFY_EMAIL", "CONFIGURE_TOTP"],
    federatedIdentities: [{ identityProvider: "upstream", userId: "42", userName: "jane" }],
  },
  "a user with a temporary initial password": {
    realmRef,
    username: "temp",
    initialPasswordSecretRef: { name: "temp-password", key: "password" },
    initialPasswordTemporary: true,
    groups: ["/customers"],
  },
  "a user with a password and required actions": {
    realmRef,
    username: "kept",
    initialPasswordSecretRef: { name: "kept-password" },
    requiredActions: ["VERIFY_EMAIL"],
    groups: [],
  },
};

describe("userSpecFromRepresentation", () => {
  const cases = [
    ...exampleUsers().map(({ file, spec }) => [`examples/${file}: ${spec.username}`, spec] as const),
    ...Object.entries(richSpecs),
  ];

  it.each(cases)("Given %s as the operator stores it, when exported, then the spec comes back", (_, spec) => {
    const report = new ExportReport();
    const back = userSpecFromRepresentation(stored(spec), realm, report, { secretPrefix: "exported" });
    expect(back).toEqual(expectedBack(spec, "exported"));
    const secrets = spec.initialPasswordSecretRef
      ? [{ name: "exported-password", key: "password", field: "spec.initialPasswordSecretRef" }]
      : [];
    expect(report.secrets).toEqual(secrets);
    // Reported are only the operator's marker and the password's hash.
    const base = `$.users[?(@.username=='${spec.username}')]`;
    const allowed = [`${base}.attributes['kpo.dev/owner-uid']`, `${base}.credentials[?(@.type=='password')]`];
    expect(report.unexpressed.map((u) => u.path).filter((p) => !allowed.includes(p))).toEqual([]);
  });

  it("Given the examples, when listed, then there are KeycloakUsers to test (the glob still matches)", () => {
    expect(exampleUsers().length).toBeGreaterThanOrEqual(2);
  });

  it("Given Keycloak's new user in a full export, when exported, then only the username and enabled: false remain", () => {
    const user = {
      ...structuredClone(keycloakDefaults.user),
      id: "x",
      createdTimestamp: 1,
      realmRoles: [`default-roles-${realmName}`],
      groups: ["/customers"],
    };
    const report = new ExportReport();
    // Keycloak makes a new user disabled, the CRD enables it by default: the spec must say false.
    expect(userSpecFromRepresentation(user, realm, report)).toEqual({ username: "probe", enabled: false });
    expect(report.unexpressed).toEqual([]);
    expect(report.secrets).toEqual([]);
  });

  it("Given fields the CRD has no place for, when exported, then each is reported once with its path", () => {
    const user: Representation = {
      username: "ldap-user",
      enabled: true,
      totp: true,
      federationLink: "ldap-provider-id",
      notBefore: 1_700_000_000,
      realmRoles: ["support"],
      groups: ["/customers"],
      attributes: {
        LDAP_ID: ["abc"],
        LDAP_ENTRY_DN: ["uid=ldap-user,dc=example"],
        title: ["Dr"],
        "kpo.dev/owner-uid": ["u9"],
        "kpo.dev/owner-namespace": ["other"],
        "kpo.dev/owner-name": ["someone"],
        "kpo.dev/user-roles": ['["support"]'],
      },
      credentials: [{ type: "otp", secretData: "{}", credentialData: "{}" }],
      clientConsents: [{ clientId: "web", grantedClientScopes: ["profile"] }],
      socialLinks: [{ socialProvider: "github" }],
      somethingNew: "x",
    };
    const report = new ExportReport();
    const spec = userSpecFromRepresentation(user, realm, report);
    const base = "$.users[?(@.username=='ldap-user')]";
    expect(report.unexpressed.map((u) => u.path).sort()).toEqual(
      [
        `${base}.attributes['kpo.dev/owner-uid']`,
        `${base}.attributes.LDAP_ID`,
        `${base}.attributes.LDAP_ENTRY_DN`,
        `${base}.realmRoles`,
        `${base}.credentials[?(@.type=='otp')]`,
        `${base}.federationLink`,
        `${base}.notBefore`,
        `${base}.clientConsents`,
        `${base}.socialLinks`,
        `${base}.somethingNew`,
      ].sort(),
    );
    expect(report.unexpressed.find((u) => u.path === `${base}.realmRoles`)?.reason).toContain(
      `default-roles-${realmName}`,
    );
    expect(spec).toEqual({ username: "ldap-user", attributes: { title: ["Dr"] }, realmRoles: ["support"] });
  });

  it("Given service accounts, master-realm users and usernames the CRD refuses, when exported, then none becomes a spec", () => {
    const report = new ExportReport();
    const serviceAccount = { username: "service-account-web", serviceAccountClientId: "web" };
    expect(userSpecFromRepresentation(serviceAccount, realm, report)).toBeUndefined();
    // The client's spec.serviceAccount carries a service account: nothing to report here.
    expect(report.unexpressed).toEqual([]);
    expect(userSpecFromRepresentation({ username: "admin" }, { realm: "master" }, report)).toBeUndefined();
    expect(userSpecFromRepresentation({ username: "ab" }, realm, report)).toBeUndefined();
    expect(userSpecFromRepresentation({ username: "has space" }, realm, report)).toBeUndefined();
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      "$.users[?(@.username=='admin')]",
      "$.users[?(@.username=='ab')]",
      "$.users[?(@.username=='has space')]",
    ]);
  });

  it("Given a hashed password, when exported, then the spec references a Secret to fill in and no hash is anywhere", () => {
    const report = new ExportReport();
    const spec = userSpecFromRepresentation(
      stored(richSpecs["a user with a temporary initial password"] as KeycloakUserSpec),
      realm,
      report,
    );
    expect(spec?.initialPasswordSecretRef).toEqual({ name: "temp-password" });
    expect(report.secrets).toEqual([
      { name: "temp-password", key: "password", field: "spec.initialPasswordSecretRef" },
    ]);
    const credentialPath = "$.users[?(@.username=='temp')].credentials[?(@.type=='password')]";
    // The operator's owner marker is reported too; the password's entry says which Secret to fill in.
    expect(report.unexpressed.map((u) => u.path)).toEqual([
      "$.users[?(@.username=='temp')].attributes['kpo.dev/owner-uid']",
      credentialPath,
    ]);
    expect(report.unexpressed.find((u) => u.path === credentialPath)?.reason).toContain("temp-password");
    for (const text of [JSON.stringify(spec), JSON.stringify(report)]) {
      expect(text).not.toContain("c2VjcmV0LWhhc2gtdmFsdWU=");
      expect(text).not.toContain("hashIterations");
    }
  });

  it("Given a password in clear (an import file), when exported, then its value goes to the Secret only, never the spec", () => {
    const report = new ExportReport();
    const user = {
      username: "clear",
      enabled: true,
      credentials: [{ type: "password", value: initialPassword }],
    };
    const spec = userSpecFromRepresentation(user, realm, report, { secretPrefix: "clear-user" });
    expect(spec).toEqual({ username: "clear", initialPasswordSecretRef: { name: "clear-user-password" } });
    expect(report.secrets).toEqual([
      {
        name: "clear-user-password",
        key: "password",
        value: initialPassword,
        field: "spec.initialPasswordSecretRef",
      },
    ]);
    expect(JSON.stringify(spec)).not.toContain(initialPassword);
    expect(JSON.stringify(report.unexpressed)).not.toContain(initialPassword);
  });
});
