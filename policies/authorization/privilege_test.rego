package kpo.policy.authorization_test

import data.kpo.policy.authorization

# Inputs as the engine builds them: input.privilege lists every grant with what it reaches
# (src/policy/privilege.ts computes the closure; these tests pin what the policy does with it).
reach(client, name, path) := {"client": client, "name": name, "role": concat("/", [client, name]), "path": path}

realm_reach(name, path) := {"name": name, "role": name, "path": path}

privileged_input(kind, realm_name, grants) := {
	"operation": "create",
	"kind": kind,
	"resource": {"metadata": {"name": "r", "namespace": "team-a"}, "spec": {"realmName": realm_name, "clientId": "web"}},
	"namespace": {"name": "team-a", "labels": {}},
	"target": {"instance": instance, "realm": realm},
	"counts": {},
	"privilege": {"realm": realm_name, "grants": grants},
}

grant(field, grantee, reaches) := {"field": field, "grantee": grantee, "reaches": reaches}

messages(inp) := {v.message | some v in authorization.violations with input as inp; v.code == "PrivilegedRole"}

test_service_account_role_reaching_realm_admin_through_a_composite_is_denied if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [
		realm_reach("ops", ["ops"]),
		reach("realm-management", "realm-admin", ["ops", "realm-management/realm-admin"]),
	])])
	codes(inp) == {"PrivilegedRole"}
	some m in messages(inp)
	contains(m, "role ops → realm-management/realm-admin")
	contains(m, "spec.serviceAccount gives the client's service account \"realm-management/realm-admin\"")
}

test_long_paths_across_realm_and_client_roles_are_named_in_full if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [
		reach("app", "reader", ["app/reader"]),
		realm_reach("ops", ["app/reader", "ops"]),
		reach("realm-management", "manage-users", ["app/reader", "ops", "realm-management/manage-users"]),
	])])
	some m in messages(inp)
	contains(m, "role app/reader → ops → realm-management/manage-users")
}

test_harmless_closure_is_allowed if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [
		realm_reach("ops", ["ops"]),
		reach("shop-api", "read", ["ops", "shop-api/read"]),
		realm_reach("offline_access", ["ops", "offline_access"]),
	])])
	codes(inp) == set()
}

test_every_grant_kind_is_checked if {
	every g in [
		grant("spec.roles[ops].composites", "role ops", [reach("realm-management", "realm-admin", ["ops", "realm-management/realm-admin"])]),
		grant("spec.groups[/admins]", "group /admins", [reach("realm-management", "realm-admin", ["realm-management/realm-admin"])]),
		grant("spec.groups[/a/b]", "group /a/b", [realm_reach("x", ["x"]), reach("realm-management", "impersonation", ["x", "realm-management/impersonation"])]),
		grant("spec.defaultRoles", "every user (the realm's default roles)", [reach("realm-management", "view-users", ["realm-management/view-users"])]),
		grant("spec.defaultGroups[/staff]", "every new user (default group /staff)", [realm_reach("x", ["x"]), reach("realm-management", "manage-users", ["x", "realm-management/manage-users"])]),
		grant("spec.roles[svc].composites", "role web/svc", [realm_reach("manage-clients", ["web/svc", "manage-clients"])]),
		grant("spec.protocolMappers[r]", "every token of the client (hardcoded role)", [reach("realm-management", "realm-admin", ["realm-management/realm-admin"])]),
	] {
		codes(privileged_input("KeycloakRealm", "shop", [g])) == {"PrivilegedRole"}
	}
}

test_every_role_of_the_master_realm_is_privileged if {
	inp := privileged_input("KeycloakClient", "master", [grant("spec.serviceAccount", "the client's service account", [realm_reach("anything", ["anything"])])])
	some m in messages(inp)
	contains(m, "administers every realm of the Keycloak instance")
}

test_other_clients_role_named_like_an_admin_role_is_privileged if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [reach("other", "impersonation", ["other/impersonation"])])])
	codes(inp) == {"PrivilegedRole"}
}

test_data_exceptions_allow_named_roles_for_one_namespace_only if {
	g := grant("spec.serviceAccount", "the client's service account", [
		realm_reach("ops", ["ops"]),
		reach("realm-management", "view-users", ["ops", "realm-management/view-users"]),
	])
	inp := privileged_input("KeycloakClient", "shop", [g])
	codes(inp) == set() with data.kpo.authorization.allowedAdminRoles as {"team-a": ["realm-management/view-users"]}
	codes(inp) == {"PrivilegedRole"} with data.kpo.authorization.allowedAdminRoles as {"team-b": ["realm-management/view-users"]}
	codes(inp) == {"PrivilegedRole"} with data.kpo.authorization.allowedAdminRoles as {"team-a": ["realm-management/manage-users"]}
}

test_one_violation_per_privileged_role_reached if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [
		realm_reach("ops", ["ops"]),
		reach("realm-management", "realm-admin", ["ops", "realm-management/realm-admin"]),
		reach("realm-management", "manage-users", ["ops", "realm-management/realm-admin", "realm-management/manage-users"]),
	])])
	count(messages(inp)) == 2
}

test_deletes_are_never_governed_by_privilege if {
	inp := json.patch(
		privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount", "the client's service account", [reach("realm-management", "realm-admin", ["realm-management/realm-admin"])])]),
		[{"op": "replace", "path": "/operation", "value": "delete"}],
	)
	codes(inp) == set()
}

test_saml_hardcoded_role_reaching_realm_admin_is_denied if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.protocolMappers[r]", "every SAML assertion of the client (hardcoded role)", [
		realm_reach("ops", ["ops"]),
		reach("realm-management", "realm-admin", ["ops", "realm-management/realm-admin"]),
	])])
	codes(inp) == {"PrivilegedRole"}
	some m in messages(inp)
	contains(m, "every SAML assertion of the client")
}

test_service_account_group_membership_reaching_realm_admin_is_denied if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount.groups[/admins]", "the client's service account (member of group /admins)", [
		reach("realm-management", "realm-admin", ["group /admins", "realm-management/realm-admin"]),
	])])
	codes(inp) == {"PrivilegedRole"}
	some m in messages(inp)
	contains(m, "spec.serviceAccount.groups[/admins] gives the client's service account (member of group /admins) \"realm-management/realm-admin\"")
	contains(m, "(group /admins → realm-management/realm-admin)")
}

test_service_account_group_membership_with_harmless_roles_is_allowed if {
	inp := privileged_input("KeycloakClient", "shop", [grant("spec.serviceAccount.groups[/a/b]", "the client's service account (member of group /a/b)", [
		realm_reach("reporter", ["group /a/b", "reporter"]),
		realm_reach("viewer", ["group /a/b", "group /a", "viewer"]),
	])])
	codes(inp) == set()
}
