package kpo.policy.authorization_test

# An identity provider mapper's grant, as src/policy/privilege.ts lists it: every user the provider
# sends receives the role, so a path to an administration role is denied like any other grant.
idp_grant(reaches) := grant("spec.identityProviderMappers[upstream/admin]", "users brokered by identity provider \"upstream\"", reaches)

test_identity_provider_mapper_granting_realm_admin_is_denied if {
	inp := privileged_input("KeycloakRealm", "shop", [idp_grant([
		reach("realm-management", "realm-admin", ["realm-management/realm-admin"]),
		realm_reach("realm-management.realm-admin", ["realm-management.realm-admin"]),
	])])
	codes(inp) == {"PrivilegedRole"}
	some m in messages(inp)
	contains(m, "spec.identityProviderMappers[upstream/admin] gives users brokered by identity provider \"upstream\" \"realm-management/realm-admin\"")
	contains(m, "granted directly: realm-management/realm-admin")
}

test_identity_provider_mapper_reaching_an_admin_role_through_a_composite_is_denied if {
	inp := privileged_input("KeycloakRealm", "shop", [idp_grant([
		realm_reach("partner", ["partner"]),
		reach("realm-management", "manage-users", ["partner", "realm-management/manage-users"]),
	])])
	some m in messages(inp)
	contains(m, "role partner → realm-management/manage-users")
}

test_identity_provider_mapper_granting_an_ordinary_role_is_allowed if {
	codes(privileged_input("KeycloakRealm", "shop", [idp_grant([realm_reach("partner", ["partner"])])])) == set()
}
