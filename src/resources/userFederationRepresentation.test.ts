import { describe, expect, it } from "vitest";
import type { KeycloakRealmSpec, RealmLdapProvider } from "../api/index.js";
import { desiredRealm } from "./realmRepresentation.js";
import { realmSecretReferences } from "./secretReferences.js";
import { desiredLdapProviders, ldapProviderConfig } from "./userFederationRepresentation.js";

const base: KeycloakRealmSpec = { instanceRef: { name: "main" }, realmName: "apps" };
const corp: RealmLdapProvider = {
  name: "corp",
  connectionUrl: "ldaps://ldap.example.org",
  bindDn: "cn=keycloak,dc=example,dc=org",
  bindCredentialRef: { name: "ldap-bind", key: "password" },
  usersDn: "ou=people,dc=example,dc=org",
};
const secrets = new Map([["spec.userFederation.ldap[corp].bindCredentialRef", "s3cret"]]);

describe("desiredLdapProviders", () => {
  it("Given no spec.userFederation, when mapped, then user federation is not managed", () => {
    expect(desiredLdapProviders(base, secrets)).toBeUndefined();
    expect(desiredRealm(base)).not.toHaveProperty("ldapProviders");
  });

  it("Given an empty list, when mapped, then the realm's own providers are to be pruned (an empty desired list)", () => {
    expect(desiredLdapProviders({ ...base, userFederation: { ldap: [] } }, secrets)).toEqual([]);
    expect(desiredLdapProviders({ ...base, userFederation: {} }, secrets)).toEqual([]);
  });

  it("Given a provider with only the required fields, when mapped, then the vendor defaults and Keycloak's names are filled in", () => {
    const [provider] = desiredLdapProviders({ ...base, userFederation: { ldap: [corp] } }, secrets) ?? [];
    expect(provider).toEqual({
      name: "corp",
      bindCredential: "s3cret",
      bindCredentialSource:
        'Secret "ldap-bind" key "password" (spec.userFederation.ldap[corp].bindCredentialRef)',
      mappers: [],
      config: {
        vendor: "other",
        enabled: "true",
        connectionUrl: "ldaps://ldap.example.org",
        authType: "simple",
        bindDn: "cn=keycloak,dc=example,dc=org",
        usersDn: "ou=people,dc=example,dc=org",
        usernameLDAPAttribute: "uid",
        rdnLDAPAttribute: "uid",
        uuidLDAPAttribute: "entryUUID",
        userObjectClasses: "inetOrgPerson, organizationalPerson",
        searchScope: "1",
        editMode: "READ_ONLY",
        importEnabled: "true",
        fullSyncPeriod: "-1",
        changedSyncPeriod: "-1",
      },
    });
    expect(JSON.stringify(provider?.config)).not.toContain("s3cret");
  });

  it("Given Active Directory and every setting, when mapped, then each lands on its config key with Keycloak's units", () => {
    const config = ldapProviderConfig({
      ...corp,
      vendor: "ad",
      connectionUrl: "ldap://dc1.example.org",
      startTls: true,
      enabled: false,
      priority: 5,
      connectionTimeoutMs: 3000,
      readTimeoutMs: 9000,
      customUserSearchFilter: "(memberOf=cn=sso,dc=example,dc=org)",
      searchScope: "subtree",
      editMode: "WRITABLE",
      importEnabled: true,
      syncRegistrations: true,
      pagination: true,
      trustEmail: true,
      periodicFullSyncSeconds: 86400,
      periodicChangedUsersSyncSeconds: 600,
    });
    expect(config).toMatchObject({
      vendor: "ad",
      enabled: "false",
      priority: "5",
      startTls: "true",
      connectionPooling: "false",
      connectionTimeout: "3000",
      readTimeout: "9000",
      usernameLDAPAttribute: "cn",
      rdnLDAPAttribute: "cn",
      uuidLDAPAttribute: "objectGUID",
      userObjectClasses: "person, organizationalPerson, user",
      customUserSearchFilter: "(memberOf=cn=sso,dc=example,dc=org)",
      searchScope: "2",
      editMode: "WRITABLE",
      syncRegistrations: "true",
      pagination: "true",
      trustEmail: "true",
      fullSyncPeriod: "86400",
      changedSyncPeriod: "600",
    });
  });

  it("Given an anonymous bind and explicit attributes, when mapped, then authType is none and no credential is resolved", () => {
    const anonymous: RealmLdapProvider = {
      name: "public",
      connectionUrl: "ldaps://ldap.example.org",
      usersDn: "ou=people,dc=example,dc=org",
      usernameLDAPAttribute: "mail",
      userObjectClasses: ["person"],
      mappers: [{ name: "devs", type: "hardcoded-ldap-role-mapper", config: { role: "developer" } }],
    };
    const [provider] =
      desiredLdapProviders({ ...base, userFederation: { ldap: [anonymous] } }, new Map()) ?? [];
    expect(provider?.bindCredential).toBeUndefined();
    expect(provider?.config).toMatchObject({
      authType: "none",
      usernameLDAPAttribute: "mail",
      userObjectClasses: "person",
    });
    expect(provider?.config).not.toHaveProperty("bindDn");
    expect(provider?.mappers).toEqual([
      { name: "devs", type: "hardcoded-ldap-role-mapper", config: { role: "developer" } },
    ]);
  });

  it("Given a bind credential reference, then it is listed with the realm's Secret references and must be resolved before mapping", () => {
    const spec = {
      ...base,
      userFederation: { ldap: [corp, { ...corp, name: "b", bindCredentialRef: { name: "b" } }] },
    };
    expect(realmSecretReferences(spec)).toEqual([
      { field: "spec.userFederation.ldap[corp].bindCredentialRef", name: "ldap-bind", key: "password" },
      { field: "spec.userFederation.ldap[b].bindCredentialRef", name: "b", key: "password" },
    ]);
    expect(() => desiredLdapProviders(spec, secrets)).toThrow(
      /spec.userFederation.ldap\[b\].bindCredentialRef names Secret "b"/,
    );
  });
});
