# Realm settings that change who holds power in the realm: default groups (every new user joins
# them, so their roles go to everyone; the grants are checked with the others in
# authorization.rego, and must be groups the spec defines so their roles are known), and
# fine-grained admin permissions (which let permissions defined in the realm make users administrators).
package kpo.policy.authorization

import data.kpo.lib

# Every group path spec.groups defines (three levels, as the CRD allows).
defined_group_paths contains path if {
	some g in lib.field(lib.spec, "groups", [])
	path := concat("", ["/", lib.str(g.name)])
}

defined_group_paths contains path if {
	some g in lib.field(lib.spec, "groups", [])
	some s in lib.field(g, "subGroups", [])
	path := concat("", ["/", lib.str(g.name), "/", lib.str(s.name)])
}

defined_group_paths contains path if {
	some g in lib.field(lib.spec, "groups", [])
	some s in lib.field(g, "subGroups", [])
	some t in lib.field(s, "subGroups", [])
	path := concat("", ["/", lib.str(g.name), "/", lib.str(s.name), "/", lib.str(t.name)])
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some path in lib.field(lib.spec, "defaultGroups", [])
	not path in defined_group_paths
	v := {
		"code": "DefaultGroupNotDefined",
		"message": concat("", [
			lib.subject,
			": spec.defaultGroups names \"",
			lib.str(path),
			"\", which is not a group of spec.groups; every new user would join a group whose roles this resource cannot check. Add \"",
			lib.str(path),
			"\" to spec.groups (with the roles it grants) or remove it from spec.defaultGroups.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	lib.field(lib.spec, "adminPermissionsEnabled", false) == true
	not admin_role_allowed("*")
	v := {
		"code": "AdminPermissionsNotAllowed",
		"message": concat("", [
			lib.subject,
			": spec.adminPermissionsEnabled is true, which turns on fine-grained admin permissions: permissions defined in the realm can then make users administrators of its users, groups and clients. Remove spec.adminPermissionsEnabled, or ask the security team to allow every admin role (\"*\") for namespace \"",
			lib.str(input.namespace.name),
			"\" in data.kpo.authorization.allowedAdminRoles.",
		]),
	}
}
