package kpo.policy.authorization_test

import data.kpo.policy.authorization

# The grants src/policy/privilege.ts makes of LDAP mappers, as the operator hands them over.
ldap_realm_input(grants) := {
	"operation": "update",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "corp", "namespace": "team-a"}, "spec": {"realmName": "corp", "instanceRef": {"name": "main", "namespace": "iam"}}},
	"namespace": {"name": "team-a", "labels": {}},
	"target": {"instance": {"metadata": {"name": "main", "namespace": "iam"}, "spec": {"realmGrants": {"namespaces": ["team-a"]}}}},
	"counts": {},
	"privilege": {"realm": "corp", "grants": grants},
}

hardcoded_admin := {
	"field": "spec.userFederation.ldap[corp].mappers[admins]",
	"grantee": "users of LDAP provider \"corp\" (hardcoded-ldap-role-mapper)",
	"reaches": [
		{"client": "realm-management", "name": "realm-admin", "role": "realm-management/realm-admin", "path": ["realm-management/realm-admin"]},
		{"name": "realm-management.realm-admin", "role": "realm-management.realm-admin", "path": ["realm-management.realm-admin"]},
	],
}

role_mapper_into_realm_management := {
	"field": "spec.userFederation.ldap[corp].mappers[from-ldap]",
	"grantee": "users of LDAP provider \"corp\" (role-ldap-mapper)",
	"reaches": [{"client": "realm-management", "name": "*", "role": "realm-management/*", "path": ["realm-management/*"]}],
}

harmless_group_mapper := {
	"field": "spec.userFederation.ldap[corp].mappers[groups]",
	"grantee": "users of LDAP provider \"corp\" (group-ldap-mapper)",
	"reaches": [{"name": "developer", "role": "developer", "path": ["developer"]}],
}

privileged_messages(inp) := {v.message | some v in authorization.violations with input as inp; v.code == "PrivilegedRole"}

test_hardcoded_ldap_role_mapper_to_realm_admin_denied if {
	messages := privileged_messages(ldap_realm_input([hardcoded_admin]))
	count(messages) == 1
	some m in messages
	contains(m, "spec.userFederation.ldap[corp].mappers[admins] gives users of LDAP provider \"corp\" (hardcoded-ldap-role-mapper) \"realm-management/realm-admin\"")
	contains(m, "Remove that grant")
}

test_role_ldap_mapper_into_realm_management_denied_whatever_the_directory_holds if {
	some m in privileged_messages(ldap_realm_input([role_mapper_into_realm_management]))
	contains(m, "\"realm-management/*\"")
}

test_group_ldap_mapper_to_plain_role_allowed if {
	count(privileged_messages(ldap_realm_input([harmless_group_mapper]))) == 0
}

test_ldap_mapper_to_realm_admin_allowed_by_security_team_exception if {
	count(privileged_messages(ldap_realm_input([hardcoded_admin]))) == 0 with data.kpo.authorization.allowedAdminRoles as {"team-a": ["realm-management/realm-admin", "realm-management.realm-admin"]}
}
