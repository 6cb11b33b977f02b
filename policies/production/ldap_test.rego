package kpo.policy.production_test

import data.kpo.policy.production

ldap_realm(providers) := object.union(good_realm, {"userFederation": {"ldap": providers}})

ldap_provider(fields) := object.union(
	{
		"name": "corp",
		"connectionUrl": "ldaps://ldap.corp.example",
		"bindDn": "cn=keycloak,dc=corp",
		"bindCredentialRef": {"name": "ldap-bind", "key": "password"},
		"usersDn": "ou=people,dc=corp",
	},
	fields,
)

test_ldaps_or_starttls_with_secret_reference_allowed if {
	codes(mk("KeycloakRealm", ldap_realm([ldap_provider({})]), prod)) == set()
	codes(mk("KeycloakRealm", ldap_realm([ldap_provider({"connectionUrl": "ldap://ldap.corp.example", "startTls": true})]), prod)) == set()
	codes(mk("KeycloakRealm", ldap_realm([ldap_provider({"connectionUrl": "LDAPS://a ldaps://b"})]), prod)) == set()
}

test_plain_ldap_without_starttls_denied_naming_provider_and_fix if {
	inp := mk("KeycloakRealm", ldap_realm([ldap_provider({"connectionUrl": "ldaps://a ldap://b", "startTls": false})]), prod)
	codes(inp) == {"LdapConnectionNotEncrypted"}
	some v in production.violations with input as inp
	contains(v.message, "KeycloakRealm shop/x: spec.userFederation.ldap[corp].connectionUrl uses \"ldap://b\" without StartTLS")
	contains(v.message, "set spec.userFederation.ldap[corp].startTls: true")
}

test_plain_ldap_outside_production_not_checked if {
	codes(mk("KeycloakRealm", ldap_realm([ldap_provider({"connectionUrl": "ldap://a"})]), {})) == set()
}

test_inline_bind_credential_denied if {
	inp := mk("KeycloakRealm", ldap_realm([ldap_provider({"bindCredential": "hunter2"})]), prod)
	codes(inp) == {"LdapBindCredentialNotFromSecret"}
	some v in production.violations with input as inp
	contains(v.message, "spec.userFederation.ldap[corp] sets the bind credential inline")
	not contains(v.message, "hunter2")
}

test_bind_dn_without_secret_reference_denied if {
	provider := json.remove(ldap_provider({}), ["bindCredentialRef"])
	codes(mk("KeycloakRealm", ldap_realm([provider]), prod)) == {"LdapBindCredentialNotFromSecret"}
}

test_anonymous_bind_allowed if {
	provider := json.remove(ldap_provider({}), ["bindCredentialRef", "bindDn"])
	codes(mk("KeycloakRealm", ldap_realm([provider]), prod)) == set()
}
