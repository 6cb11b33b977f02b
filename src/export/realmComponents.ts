// The realm's components in an export → spec.userFederation.ldap and spec.userProfile: the inverse of
// src/resources/userFederationRepresentation.ts and of the user profile mapping. Keycloak keeps both
// as components (config values are string lists); the other component types of a new realm (key
// providers, client registration policies) are Keycloak's and not in the CRD: left out while they
// are as a new realm has them, reported otherwise.
import type { RealmLdapMapper, RealmLdapProvider } from "../api/index.js";
import type { KeycloakRealmSpec } from "../api/index.js";
import { ldapMapperProviderType, userStorageProviderType } from "../keycloak/userFederation.js";
import { userProfileOwnerAnnotation } from "../keycloak/userProfile.js";
import { ldapBindCredentialReference } from "../resources/secretReferences.js";
import { vendorDefaults } from "../resources/userFederationRepresentation.js";
import {
  exportedSecret,
  isRecord,
  records,
  recordOf,
  sameValue,
  secretName,
  singleValue,
  str,
  strings,
  type ExportContext,
} from "./exportContext.js";
import { childPath } from "./report.js";

const userProfileProviderType = "org.keycloak.userprofile.UserProfileProvider";
const userProfileConfigKey = "kc.user.profile.config";

type UserProfileSpec = NonNullable<KeycloakRealmSpec["userProfile"]>;
type UserProfileAttributeSpec = NonNullable<UserProfileSpec["attributes"]>[number];
type UserProfileGroupSpec = NonNullable<UserProfileSpec["groups"]>[number];

const componentPath = (type: string, name: string) =>
  `$.components['${type}'][?(@.name=='${name.replaceAll("'", "\\'")}')]`;

const mapperTypes = [
  "user-attribute-ldap-mapper",
  "full-name-ldap-mapper",
  "group-ldap-mapper",
  "role-ldap-mapper",
  "hardcoded-ldap-role-mapper",
  "hardcoded-ldap-group-mapper",
  "hardcoded-ldap-attribute-mapper",
  "hardcoded-attribute-mapper",
  "certificate-ldap-mapper",
  "msad-user-account-control-mapper",
  "msad-lds-user-account-control-mapper",
] as const satisfies readonly RealmLdapMapper["type"][];
type UnlistedMapper = Exclude<RealmLdapMapper["type"], (typeof mapperTypes)[number]>;
export const everyLdapMapperListed: [UnlistedMapper] extends [never] ? true : UnlistedMapper = true;

/**
 * Config entries an LDAP provider of the admin console holds whose value means what their absence
 * means to Keycloak; a provider the operator made has none of them.
 */
const ldapImplicitConfig: Record<string, string> = {
  cachePolicy: "DEFAULT",
  connectionPooling: "true",
  allowKerberosAuthentication: "false",
  useKerberosForPasswordAuthentication: "false",
  usePasswordModifyExtendedOp: "false",
  validatePasswordPolicy: "false",
  connectionTrace: "false",
  useTruststoreSpi: "always",
  batchSizeForSync: "1000",
};
/** Config entries Keycloak writes itself: when it last synchronised the directory. */
const ldapServerConfig = new Set(["lastSync"]);

const vendors = new Set(Object.keys(vendorDefaults));

function ldapProviderSpec(
  ctx: ExportContext,
  component: Record<string, unknown>,
): RealmLdapProvider | undefined {
  const name = str(component.name) ?? "";
  const path = componentPath(userStorageProviderType, name);
  if (component.providerId !== "ldap") {
    ctx.report.notExpressed(
      path,
      `spec.userFederation holds LDAP providers only, and this is "${str(component.providerId) ?? "?"}"`,
    );
    return undefined;
  }
  const config = recordOf(component.config);
  const spec: Record<string, unknown> = { name };
  const left = new Map<string, string>();
  for (const [key, raw] of Object.entries(config)) {
    const value = singleValue(raw);
    const at = childPath(childPath(path, "config"), key);
    if (ldapServerConfig.has(key)) continue;
    // Keycloak drops an entry set to "": an empty one says nothing.
    if (value === "" || (Array.isArray(raw) && raw.length === 0)) continue;
    if (value === undefined) {
      ctx.report.notExpressed(at, "spec.userFederation.ldap[] settings hold one value each");
      continue;
    }
    left.set(key, value);
  }
  const take = (key: string) => {
    const value = left.get(key);
    left.delete(key);
    return value;
  };
  const vendor = take("vendor") ?? "other";
  if (!vendors.has(vendor)) {
    ctx.report.notExpressed(
      childPath(childPath(path, "config"), "vendor"),
      `spec.userFederation.ldap[].vendor has no "${vendor}"`,
    );
    return undefined;
  }
  const defaults = vendorDefaults[vendor as keyof typeof vendorDefaults];
  if (vendor !== "other") spec.vendor = vendor;
  const bool = (key: string, field: string, whenAbsent: boolean) => {
    const value = take(key);
    if (value === undefined) return;
    if (value !== "true" && value !== "false") left.set(key, value);
    else if ((value === "true") !== whenAbsent) spec[field] = value === "true";
  };
  const int = (key: string, field: string, omitted: string) => {
    const value = take(key);
    if (value === undefined || value === omitted) return;
    if (/^-?\d+$/.test(value)) spec[field] = Number(value);
    else left.set(key, value);
  };
  const text = (key: string, field: string, omitted?: string) => {
    const value = take(key);
    if (value !== undefined && value !== omitted) spec[field] = value;
  };
  bool("enabled", "enabled", true);
  int("priority", "priority", "0");
  text("connectionUrl", "connectionUrl");
  const startTls = left.get("startTls") === "true";
  bool("startTls", "startTls", false);
  // The operator turns pooling off with StartTLS, which Keycloak refuses together with pooling.
  if (startTls && left.get("connectionPooling") === "false") take("connectionPooling");
  int("connectionTimeout", "connectionTimeoutMs", "");
  int("readTimeout", "readTimeoutMs", "");
  const authType = take("authType") ?? "none";
  text("bindDn", "bindDn");
  if ((authType === "simple") !== (spec.bindDn !== undefined))
    ctx.report.notExpressed(
      childPath(childPath(path, "config"), "authType"),
      "the CRD binds simply with a bind DN and anonymously without one",
    );
  const credential = config.bindCredential;
  take("bindCredential");
  if (credential !== undefined) {
    const bindCredentialRef = { name: secretName(ctx, "ldap", name), key: "password" };
    const references = ldapBindCredentialReference({ name, bindCredentialRef } as RealmLdapProvider);
    spec.bindCredentialRef = exportedSecret(ctx, references, singleValue(credential));
  }
  text("usersDn", "usersDn");
  text("usernameLDAPAttribute", "usernameLDAPAttribute", defaults.usernameLDAPAttribute);
  text("rdnLDAPAttribute", "rdnLDAPAttribute", defaults.rdnLDAPAttribute);
  text("uuidLDAPAttribute", "uuidLDAPAttribute", defaults.uuidLDAPAttribute);
  const classes = take("userObjectClasses");
  if (classes !== undefined) {
    const list = classes
      .split(",")
      .map((c) => c.trim())
      .filter((c) => c !== "");
    if (!sameValue(list, defaults.userObjectClasses)) spec.userObjectClasses = list;
  }
  text("customUserSearchFilter", "customUserSearchFilter");
  const scope = take("searchScope");
  if (scope === "2") spec.searchScope = "subtree";
  else if (scope !== undefined && scope !== "1") left.set("searchScope", scope);
  const editMode = take("editMode");
  if (editMode === "WRITABLE" || editMode === "UNSYNCED") spec.editMode = editMode;
  else if (editMode !== undefined && editMode !== "READ_ONLY") left.set("editMode", editMode);
  bool("importEnabled", "importEnabled", true);
  bool("syncRegistrations", "syncRegistrations", false);
  bool("pagination", "pagination", false);
  bool("trustEmail", "trustEmail", false);
  int("fullSyncPeriod", "periodicFullSyncSeconds", "-1");
  int("changedSyncPeriod", "periodicChangedUsersSyncSeconds", "-1");
  for (const [key, value] of left) {
    if (ldapImplicitConfig[key] === value) continue;
    ctx.report.notExpressed(
      childPath(childPath(path, "config"), key),
      "spec.userFederation.ldap[] has no field for this setting",
    );
  }
  if (spec.connectionUrl === undefined || spec.usersDn === undefined) {
    ctx.report.notExpressed(
      path,
      "spec.userFederation.ldap[] requires a connection URL and a users DN, and this provider lacks one",
    );
    return undefined;
  }

  // Keycloak's default mappers are listed too: listing one makes the operator manage the values it
  // already has, while which ones Keycloak made depends on the vendor and the edit mode.
  const mappers: RealmLdapMapper[] = [];
  for (const mapper of records(recordOf(component.subComponents)[ldapMapperProviderType])) {
    const mapperName = str(mapper.name) ?? "";
    const mapperPath = `${childPath(path, "subComponents")}['${ldapMapperProviderType}'][?(@.name=='${mapperName}')]`;
    const type = str(mapper.providerId) ?? "";
    if (!(mapperTypes as readonly string[]).includes(type)) {
      ctx.report.notExpressed(mapperPath, `spec.userFederation.ldap[].mappers[].type has no "${type}"`);
      continue;
    }
    const mapperConfig: Record<string, string> = {};
    for (const [key, raw] of Object.entries(recordOf(mapper.config))) {
      const value = singleValue(raw);
      if (value === undefined)
        ctx.report.notExpressed(
          childPath(childPath(mapperPath, "config"), key),
          "an LDAP mapper's settings hold one value each",
        );
      else mapperConfig[key] = value;
    }
    mappers.push({
      name: mapperName,
      type: type as RealmLdapMapper["type"],
      ...(Object.keys(mapperConfig).length > 0 ? { config: mapperConfig } : {}),
    });
  }
  for (const type of Object.keys(recordOf(component.subComponents)))
    if (type !== ldapMapperProviderType)
      ctx.report.notExpressed(
        `${childPath(path, "subComponents")}['${type}']`,
        "an LDAP provider's sub-components in the CRD are its mappers",
      );
  if (mappers.length > 0) spec.mappers = mappers;
  return spec as unknown as RealmLdapProvider;
}

/**
 * Keycloak 26's user profile when nobody changed it (keycloak-default-user-profile.json): a new
 * realm's export holds no user profile component, so the captured defaults cannot give it.
 */
const anyone = { view: ["admin", "user"], edit: ["admin", "user"] };
export const defaultUserProfile = {
  attributes: [
    {
      name: "username",
      displayName: "${username}",
      validations: {
        length: { min: 3, max: 255 },
        "username-prohibited-characters": {},
        "up-username-not-idn-homograph": {},
      },
      permissions: anyone,
      multivalued: false,
    },
    {
      name: "email",
      displayName: "${email}",
      validations: { email: {}, length: { max: 255 } },
      required: { roles: ["user"] },
      permissions: anyone,
      multivalued: false,
    },
    ...["firstName", "lastName"].map((name) => ({
      name,
      displayName: `\${${name}}`,
      validations: { length: { max: 255 }, "person-name-prohibited-characters": {} },
      required: { roles: ["user"] },
      permissions: anyone,
      multivalued: false,
    })),
  ],
  groups: [
    {
      name: "user-metadata",
      displayHeader: "User metadata",
      displayDescription: "Attributes, which refer to user metadata",
    },
  ],
};

/** An attribute or group as compared with Keycloak's: without the operator's marker, `multivalued: false` implied. */
function comparableProfileItem(item: Record<string, unknown>): Record<string, unknown> {
  const annotations = { ...recordOf(item.annotations) };
  delete annotations[userProfileOwnerAnnotation];
  const { annotations: _a, multivalued, ...rest } = item;
  return {
    ...rest,
    ...(multivalued === true ? { multivalued } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

const permissionRoles = new Set(["user", "admin"]);

function profileAttributeSpec(
  ctx: ExportContext,
  attr: Record<string, unknown>,
  path: string,
): UserProfileAttributeSpec {
  const item = comparableProfileItem(attr);
  const spec: Record<string, unknown> = { name: str(item.name) ?? "" };
  for (const [key, value] of Object.entries(item)) {
    const at = childPath(path, key);
    if (key === "name") continue;
    if ((key === "displayName" || key === "group") && typeof value === "string") spec[key] = value;
    else if (key === "multivalued") spec.multivalued = value;
    else if (key === "annotations") {
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(recordOf(value)))
        if (typeof v === "string") annotations[k] = v;
        else ctx.report.notExpressed(childPath(at, k), "user profile annotations in the CRD are strings");
      if (Object.keys(annotations).length > 0) spec.annotations = annotations;
    } else if (key === "validations") {
      const validations: Record<string, Record<string, string>> = {};
      for (const [validator, options] of Object.entries(recordOf(value))) {
        const converted: Record<string, string> = {};
        let expressible = isRecord(options);
        for (const [k, v] of Object.entries(recordOf(options))) {
          if (typeof v === "string" || typeof v === "number" || typeof v === "boolean")
            converted[k] = String(v);
          else expressible = false;
        }
        if (expressible) validations[validator] = converted;
        else
          ctx.report.notExpressed(childPath(at, validator), "a validator's options in the CRD are strings");
      }
      if (Object.keys(validations).length > 0) spec.validations = validations;
    } else if (key === "permissions" && isRecord(value)) {
      const permissions: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(value)) {
        const roles = strings(v);
        if ((k === "view" || k === "edit") && roles.every((r) => permissionRoles.has(r)))
          permissions[k] = roles;
        else
          ctx.report.notExpressed(
            childPath(at, k),
            "user profile permissions in the CRD are view and edit, by user and admin",
          );
      }
      spec.permissions = permissions;
    } else ctx.report.notExpressed(at, "spec.userProfile.attributes[] has no field for it");
  }
  return spec as unknown as UserProfileAttributeSpec;
}

function userProfileSpec(
  ctx: ExportContext,
  component: Record<string, unknown>,
): UserProfileSpec | undefined {
  const path = `$.components['${userProfileProviderType}'][0].config['${userProfileConfigKey}']`;
  // Keycloak splits a long document over several values.
  const text = strings(recordOf(component.config)[userProfileConfigKey]).join("");
  // No document (exports of Keycloak before 24 without a profile configured): Keycloak's default one.
  if (text === "") return undefined;
  let document: Record<string, unknown>;
  try {
    document = recordOf(JSON.parse(text));
  } catch {
    ctx.report.notExpressed(path, "the user profile is not a JSON document");
    return undefined;
  }
  const builtins = new Map(defaultUserProfile.attributes.map((a) => [a.name, comparableProfileItem(a)]));
  const builtinGroups = new Map(defaultUserProfile.groups.map((g) => [g.name, comparableProfileItem(g)]));
  const spec: UserProfileSpec = {};
  const attributes = records(document.attributes)
    .filter((a) => !sameValue(comparableProfileItem(a), builtins.get(str(a.name) ?? "")))
    .map((a) => profileAttributeSpec(ctx, a, `${path}.attributes[?(@.name=='${str(a.name) ?? ""}')]`));
  const groups: UserProfileGroupSpec[] = [];
  for (const group of records(document.groups)) {
    const item = comparableProfileItem(group);
    if (sameValue(item, builtinGroups.get(str(group.name) ?? ""))) continue;
    const { name, displayHeader, displayDescription, ...rest } = item;
    for (const key of Object.keys(rest))
      ctx.report.notExpressed(
        childPath(`${path}.groups[?(@.name=='${String(name)}')]`, key),
        "spec.userProfile.groups[] has no field for it",
      );
    groups.push({
      name: String(name),
      ...(typeof displayHeader === "string" ? { displayHeader } : {}),
      ...(typeof displayDescription === "string" ? { displayDescription } : {}),
    });
  }
  const present = new Set(records(document.attributes).map((a) => str(a.name)));
  for (const name of builtins.keys())
    if (!present.has(name))
      ctx.report.notExpressed(
        `${path}.attributes[?(@.name=='${name}')]`,
        "one of Keycloak's user profile attributes, removed here; the CRD adds and replaces attributes, it does not remove Keycloak's",
      );
  const policy = str(document.unmanagedAttributePolicy);
  if (policy !== undefined)
    spec.unmanagedAttributePolicy = policy as UserProfileSpec["unmanagedAttributePolicy"];
  if (attributes.length > 0) spec.attributes = attributes;
  if (groups.length > 0) spec.groups = groups;
  for (const key of Object.keys(document))
    if (!["attributes", "groups", "unmanagedAttributePolicy"].includes(key))
      ctx.report.notExpressed(childPath(path, key), "spec.userProfile has no field for it");
  return Object.keys(spec).length === 0 ? undefined : spec;
}

/** Key material a full export holds and a partial one does not: generated per realm, never a default. */
const keyMaterial = new Set(["privateKey", "certificate", "secret", "kid", "secretSize"]);

/**
 * A component as compared with a new realm's: without ids and generated keys, and each config list
 * sorted (Keycloak keeps multivalued config as a set: two realms list the same allowed mapper types
 * in different orders).
 */
function comparableComponent(c: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, parentId: _p, config, ...rest } = c;
  return {
    ...rest,
    config: Object.fromEntries(
      Object.entries(recordOf(config))
        .filter(([k]) => !keyMaterial.has(k))
        .map(([k, v]) => [k, Array.isArray(v) ? v.map(String).sort() : v]),
    ),
  };
}

const componentKey = (c: Record<string, unknown>) =>
  `${str(c.providerId) ?? ""}/${str(c.name) ?? ""}/${str(c.subType) ?? ""}`;

export function componentsSpec(ctx: ExportContext, body: Record<string, unknown>): void {
  const components = recordOf(ctx.rep.components);
  const defaults = recordOf(ctx.defaults.components);
  const ldap = records(components[userStorageProviderType])
    .map((c) => ldapProviderSpec(ctx, c))
    .filter((p) => p !== undefined);
  if (ldap.length > 0) body.userFederation = { ldap };
  const profile = records(components[userProfileProviderType])[0];
  const userProfile = profile && userProfileSpec(ctx, profile);
  if (userProfile) body.userProfile = userProfile;

  for (const [type, list] of Object.entries(components)) {
    if (type === userStorageProviderType || type === userProfileProviderType) continue;
    const base = new Map(records(defaults[type]).map((c) => [componentKey(c), comparableComponent(c)]));
    const reason = type.startsWith("org.keycloak.keys.")
      ? "the realm's keys and key providers are not in the CRD (generated keys are Keycloak's own)"
      : `components of type ${type} are not in the CRD`;
    for (const component of records(list)) {
      if (sameValue(comparableComponent(component), base.get(componentKey(component)))) continue;
      const name = str(component.name) ?? "";
      const subType = str(component.subType);
      const path =
        subType === undefined
          ? componentPath(type, name)
          : `$.components['${type}'][?(@.name=='${name}' && @.subType=='${subType}')]`;
      ctx.report.notExpressed(path, reason);
    }
  }
}
