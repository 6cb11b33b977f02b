package kpo.policy.authorization_test

import data.kpo.policy.authorization

settings_input(spec) := {
	"operation": "create",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "sso", "namespace": "team-a"}, "spec": object.union({"realmName": "shop", "instanceRef": {"name": "main"}}, spec)},
	"namespace": {"name": "team-a", "labels": {}},
	"target": {"instance": instance},
	"counts": {},
}

settings_codes(spec) := {v.code | some v in authorization.violations with input as settings_input(spec)}

three_levels := [{"name": "a", "subGroups": [{"name": "b", "subGroups": [{"name": "c"}]}]}, {"name": "d"}]

test_default_groups_defined_at_every_level_are_allowed if {
	settings_codes({"groups": three_levels, "defaultGroups": ["/a", "/a/b", "/a/b/c", "/d"]}) == set()
}

test_default_group_not_in_spec_groups_is_denied if {
	spec := {"groups": three_levels, "defaultGroups": ["/a/x"]}
	settings_codes(spec) == {"DefaultGroupNotDefined"}
	some v in authorization.violations with input as settings_input(spec)
	contains(v.message, "spec.defaultGroups names \"/a/x\", which is not a group of spec.groups")
	settings_codes({"defaultGroups": ["/a"]}) == {"DefaultGroupNotDefined"}
}

test_admin_permissions_need_the_star_exception if {
	spec := {"adminPermissionsEnabled": true}
	settings_codes(spec) == {"AdminPermissionsNotAllowed"}
	some v in authorization.violations with input as settings_input(spec)
	contains(v.message, "data.kpo.authorization.allowedAdminRoles")
	settings_codes(spec) == set() with data.kpo.authorization.allowedAdminRoles as {"team-a": ["*"]}
	settings_codes(spec) == {"AdminPermissionsNotAllowed"} with data.kpo.authorization.allowedAdminRoles as {"team-a": ["manage-users"], "team-b": ["*"]}
	settings_codes({"adminPermissionsEnabled": false}) == set()
}
