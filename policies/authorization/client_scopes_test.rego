package kpo.policy.authorization_test

import data.kpo.policy.authorization

scope_realm(scopes, extra) := realm_spec_input("team-a", object.union({"realmName": "shop", "clientScopes": scopes}, extra), instance)

oidc_mapper(name, type, config) := {"name": name, "protocolMapper": type, "config": config}

test_ordinary_scopes_are_allowed if {
	codes(scope_realm(
		[
			{"name": "tier", "protocolMappers": [
				oidc_mapper("tier", "oidc-hardcoded-claim-mapper", {"claim.name": "tier", "claim.value": "gold"}),
				oidc_mapper("aud", "oidc-audience-mapper", {"included.client.audience": "api"}),
			]},
			{"name": "saml-tier", "protocol": "saml", "protocolMappers": [oidc_mapper("t", "saml-user-attribute-mapper", {"attribute.name": "tier"})]},
			{"name": "api", "scopeMappings": {"clientRoles": {"realm-management": ["realm-admin"]}}},
		],
		{},
	)) == set()
}

test_builtin_scopes_are_reserved if {
	every name in ["profile", "email", "roles", "web-origins", "acr", "basic", "offline_access", "microprofile-jwt", "address", "phone", "role_list", "saml_organization", "organization", "service_account", "Profile"] {
		codes(scope_realm([{"name": name}], {})) == {"ReservedClientScope"}
	}
	codes(scope_realm([{"name": "profile"}], {"adopt": true})) == {"ReservedClientScope", "AdoptionNotGranted"}
	some v in authorization.violations with input as scope_realm([{"name": "email"}], {})
	contains(v.message, "spec.defaultClientScopes")
}

test_builtin_scopes_may_be_linked_as_realm_defaults if {
	codes(realm_spec_input("team-a", {"realmName": "shop", "defaultClientScopes": ["profile", "email"], "optionalClientScopes": ["address"]}, instance)) == set()
}

test_data_can_reserve_more_scopes if {
	codes(scope_realm([{"name": "corp"}], {})) == {"ReservedClientScope"} with data.kpo.authorization.reservedClientScopes as ["corp"]
}

test_unknown_scope_mapper_types_are_refused if {
	codes(scope_realm([{"name": "s", "protocolMappers": [oidc_mapper("x", "script-mapper", {})]}], {})) == {"ProtocolMapperNotAllowed"}

	# A SAML type in an OIDC scope, an OIDC type in a SAML scope, and the role renamer.
	codes(scope_realm([{"name": "s", "protocolMappers": [oidc_mapper("x", "saml-user-attribute-mapper", {})]}], {})) == {"ProtocolMapperNotAllowed"}
	codes(scope_realm([{"name": "s", "protocol": "saml", "protocolMappers": [oidc_mapper("x", "oidc-audience-mapper", {})]}], {})) == {"ProtocolMapperNotAllowed"}
	codes(scope_realm([{"name": "s", "protocol": "saml", "protocolMappers": [oidc_mapper("x", "saml-role-name-mapper", {})]}], {})) == {"ProtocolMapperNotAllowed"}
	some v in authorization.violations with input as scope_realm([{"name": "s", "protocolMappers": [oidc_mapper("x", "script-mapper", {})]}], {})
	contains(v.message, "spec.clientScopes[s].protocolMappers[x]")
	contains(v.message, "data.kpo.authorization.allowedProtocolMappers")
	codes(scope_realm([{"name": "s", "protocol": "saml", "protocolMappers": [oidc_mapper("x", "saml-custom", {})]}], {})) == set() with data.kpo.authorization.allowedProtocolMappers as ["saml-custom"]
}

test_scope_mappers_may_not_write_reserved_claims if {
	codes(scope_realm([{"name": "s", "protocolMappers": [oidc_mapper("x", "oidc-hardcoded-claim-mapper", {"claim.name": "realm_access.roles", "claim.value": "[\"admin\"]"})]}], {})) == {"ReservedClaim"}
	codes(scope_realm([{"name": "s", "protocolMappers": [oidc_mapper("x", "oidc-usermodel-realm-role-mapper", {"claim.name": "realm_access.roles"})]}], {})) == set()

	# SAML attributes are not JWT claims.
	codes(scope_realm([{"name": "s", "protocol": "saml", "protocolMappers": [oidc_mapper("x", "saml-user-attribute-mapper", {"claim.name": "sub"})]}], {})) == set()
}

test_scope_hardcoded_role_must_be_a_role_of_the_realm_spec if {
	admin := oidc_mapper("admin", "oidc-hardcoded-role-mapper", {"role": "realm-management.realm-admin"})
	codes(scope_realm([{"name": "ops", "protocolMappers": [admin]}], {})) == {"ForeignHardcodedRole"}
	saml_admin := oidc_mapper("admin", "saml-hardcode-role-mapper", {"role": "app.admin"})
	codes(scope_realm([{"name": "ops", "protocol": "saml", "protocolMappers": [saml_admin]}], {})) == {"ForeignHardcodedRole"}
	own := oidc_mapper("reader", "oidc-hardcoded-role-mapper", {"role": "reader"})
	codes(scope_realm([{"name": "ops", "protocolMappers": [own]}], {"roles": [{"name": "reader"}]})) == set()
	some v in authorization.violations with input as scope_realm([{"name": "ops", "protocolMappers": [admin]}], {})
	contains(v.message, "spec.clientScopes[ops].protocolMappers[admin]")
	contains(v.message, "spec.roles")
}

test_scope_hardcoding_a_privileged_role_is_denied_through_privilege if {
	# The realm's own role "ops" includes realm-admin: allowed by name, denied by what it reaches.
	inp := object.union(
		scope_realm([{"name": "ops", "protocolMappers": [oidc_mapper("ops", "oidc-hardcoded-role-mapper", {"role": "ops"})]}], {"roles": [{"name": "ops"}]}),
		{"privilege": {"realm": "shop", "grants": [{
			"field": "spec.clientScopes[ops].protocolMappers[ops]",
			"grantee": "every token of a client using client scope ops (hardcoded role)",
			"reaches": [
				{"name": "ops", "role": "ops", "path": ["ops"]},
				{"client": "realm-management", "name": "realm-admin", "role": "realm-management/realm-admin", "path": ["ops", "realm-management/realm-admin"]},
			],
		}]}},
	)
	codes(inp) == {"PrivilegedRole"}
}

test_deletion_is_never_governed if {
	inp := json.patch(scope_realm([{"name": "profile"}], {}), [{"op": "replace", "path": "/operation", "value": "delete"}])
	codes(inp) == set()
}
