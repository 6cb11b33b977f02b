package kpo.policy.authorization_test

import data.kpo.policy.authorization

user_realm := {"metadata": {"name": "shop", "namespace": "platform"}, "spec": {
	"realmName": "shop",
	"userGrants": {
		"namespaces": ["team-a"],
		"namespaceSelector": {"matchLabels": {"kpo.dev/users": "allowed"}},
	},
	"clientGrants": {"namespaces": ["team-c"]},
	"adoptionGrants": [{"namespaces": ["team-a"], "usernames": ["legacy"]}],
}}

user_input(ns, labels, spec) := {
	"operation": "create",
	"kind": "KeycloakUser",
	"resource": {"metadata": {"name": "bot", "namespace": ns}, "spec": object.union({"username": "bot", "realmRef": {"name": "shop", "namespace": "platform"}}, spec)},
	"namespace": {"name": ns, "labels": labels},
	"target": {"realm": user_realm},
	"counts": {},
}

test_user_allowed_from_namespace_named_in_user_grants if {
	codes(user_input("team-a", {}, {})) == set()
}

test_user_allowed_from_the_realm_own_namespace if {
	codes(user_input("platform", {}, {})) == set()
}

test_user_allowed_from_namespace_matching_the_user_grant_selector if {
	codes(user_input("team-z", {"kpo.dev/users": "allowed"}, {})) == set()
}

test_user_denied_from_namespace_without_a_user_grant_with_the_fix_in_the_message if {
	inp := user_input("team-b", {}, {})
	codes(inp) == {"UserNamespaceNotGranted"}
	some v in authorization.violations with input as inp
	contains(v.message, "KeycloakUser team-b/bot")
	contains(v.message, "may not create users in KeycloakRealm platform/shop")
	contains(v.message, "spec.userGrants.namespaces")
	contains(v.message, "spec.userGrants.namespaceSelector")
}

test_a_client_grant_does_not_admit_users if {
	codes(user_input("team-c", {}, {})) == {"UserNamespaceNotGranted"}
}

test_a_user_grant_does_not_admit_clients if {
	inp := json.patch(client_input("team-a", {}, {}), [{"op": "replace", "path": "/target/realm", "value": user_realm}])
	codes(inp) == {"ClientNamespaceNotGranted"}
}

test_user_denied_when_realm_unknown if {
	inp := json.patch(user_input("team-a", {}, {}), [{"op": "remove", "path": "/target/realm"}])
	codes(inp) == {"RealmNotFound"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.userGrants")
}

test_user_in_the_master_realm_is_denied if {
	inp := json.patch(user_input("platform", {}, {}), [{"op": "replace", "path": "/target/realm/spec/realmName", "value": "master"}])
	"ReservedRealm" in codes(inp)
}

test_user_in_the_master_realm_is_denied_from_privilege_facts_too if {
	inp := object.union(user_input("platform", {}, {}), {"privilege": {"realm": "Master", "grants": []}})
	codes(inp) == {"ReservedRealm"}
}

test_service_account_username_is_denied if {
	inp := user_input("team-a", {}, {"username": "service-account-web"})
	codes(inp) == {"ReservedUser"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.serviceAccount")
}

test_adopting_a_user_named_in_the_adoption_grant_is_allowed if {
	codes(user_input("team-a", {}, {"username": "legacy", "adopt": true})) == set()
}

test_adopting_a_user_without_an_adoption_grant_is_denied if {
	inp := user_input("team-a", {}, {"username": "alice", "adopt": true})
	codes(inp) == {"AdoptionNotGranted"}
	some v in authorization.violations with input as inp
	contains(v.message, "usernames: [\"alice\"]")
}

test_a_client_adoption_grant_does_not_admit_adopting_a_user if {
	inp := json.patch(user_input("team-a", {}, {"username": "web", "adopt": true}), [{
		"op": "replace", "path": "/target/realm/spec/adoptionGrants",
		"value": [{"namespaces": ["team-a"], "clientIds": ["web"]}],
	}])
	codes(inp) == {"AdoptionNotGranted"}
}

test_user_roles_reaching_realm_admin_through_a_group_are_denied if {
	inp := object.union(user_input("team-a", {}, {"groups": ["/ops"]}), {"privilege": {"realm": "shop", "grants": [grant(
		"spec.groups[/ops]", "user bot (member of group /ops)",
		[realm_reach("ops", ["ops"]), reach("realm-management", "realm-admin", ["ops", "realm-management/realm-admin"])],
	)]}})
	codes(inp) == {"PrivilegedRole"}
	some m in messages(inp)
	contains(m, "spec.groups[/ops] gives user bot (member of group /ops) \"realm-management/realm-admin\"")
}

test_user_role_allowed_by_data_for_its_namespace_is_allowed if {
	inp := object.union(user_input("team-a", {}, {}), {"privilege": {"realm": "shop", "grants": [grant(
		"spec.clientRoles", "user bot",
		[reach("realm-management", "manage-users", ["realm-management/manage-users"])],
	)]}})
	codes(inp) == set() with data.kpo.authorization.allowedAdminRoles as {"team-a": ["realm-management/manage-users"]}
	codes(inp) == {"PrivilegedRole"}
}
