package kpo.policy.authorization_test

import data.kpo.policy.authorization

instance := {"metadata": {"name": "kc", "namespace": "iam"}, "spec": {"realmGrants": {
	"namespaces": ["team-a"],
	"namespaceSelector": {"matchLabels": {"kpo.dev/realms": "allowed"}},
}}}

realm := {"metadata": {"name": "shop", "namespace": "platform"}, "spec": {"clientGrants": {
	"namespaces": ["team-a"],
	"namespaceSelector": {"matchLabels": {"kpo.dev/clients": "allowed"}},
}}}

realm_input(ns, labels) := {
	"operation": "create",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "r", "namespace": ns}, "spec": {"instanceRef": {"name": "kc", "namespace": "iam"}}},
	"namespace": {"name": ns, "labels": labels},
	"target": {"instance": instance},
	"counts": {},
}

client_input(ns, labels, spec) := {
	"operation": "create",
	"kind": "KeycloakClient",
	"resource": {"metadata": {"name": "web", "namespace": ns}, "spec": object.union({"clientId": "web", "realmRef": {"name": "shop", "namespace": "platform"}}, spec)},
	"namespace": {"name": ns, "labels": labels},
	"target": {"realm": realm},
	"counts": {},
}

codes(inp) := {v.code | some v in authorization.violations with input as inp}

test_realm_allowed_from_granted_namespace_name if {
	codes(realm_input("team-a", {})) == set()
}

test_realm_allowed_from_instance_own_namespace if {
	codes(realm_input("iam", {})) == set()
}

test_realm_allowed_from_namespace_matching_selector if {
	codes(realm_input("team-z", {"kpo.dev/realms": "allowed"})) == set()
}

test_realm_denied_from_ungranted_namespace if {
	codes(realm_input("team-b", {})) == {"RealmNamespaceNotGranted"}
	some v in authorization.violations with input as realm_input("team-b", {})
	contains(v.message, "KeycloakRealm team-b/r")
	contains(v.message, "iam/kc")
	contains(v.message, "spec.realmGrants.namespaces")
}

test_realm_denied_when_instance_has_no_grants if {
	inp := json.patch(realm_input("team-a", {}), [{"op": "remove", "path": "/target/instance/spec/realmGrants"}])
	codes(inp) == {"RealmNamespaceNotGranted"}
}

test_realm_denied_when_instance_unknown if {
	inp := json.patch(realm_input("team-a", {}), [{"op": "remove", "path": "/target/instance"}])
	codes(inp) == {"InstanceNotFound"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.instanceRef iam/kc")
}

test_delete_is_never_governed if {
	inp := json.patch(realm_input("team-b", {}), [{"op": "replace", "path": "/operation", "value": "delete"}])
	codes(inp) == set()
}

test_client_allowed_from_granted_namespace_selector_or_realm_namespace if {
	codes(client_input("team-a", {}, {})) == set()
	codes(client_input("team-q", {"kpo.dev/clients": "allowed"}, {})) == set()
	codes(client_input("platform", {}, {})) == set()
}

test_client_denied_from_ungranted_namespace if {
	codes(client_input("team-b", {}, {})) == {"ClientNamespaceNotGranted"}
	some v in authorization.violations with input as client_input("team-b", {}, {})
	contains(v.message, "spec.clientGrants.namespaces")
}

test_client_denied_when_realm_unknown if {
	inp := json.patch(client_input("team-a", {}, {}), [{"op": "remove", "path": "/target/realm"}])
	codes(inp) == {"RealmNotFound"}
}

test_secret_ref_in_own_namespace_allowed if {
	codes(client_input("team-a", {}, {"credentialsSecretRef": {"name": "s", "namespace": "team-a"}, "secretRef": {"name": "t"}})) == set()
}

test_secret_ref_to_other_namespace_denied if {
	inp := client_input("team-a", {}, {"credentialsSecretRef": {"name": "s", "key": "k", "namespace": "kube-system"}})
	codes(inp) == {"CrossNamespaceSecretRef"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.credentialsSecretRef.namespace is \"kube-system\"")
}

test_nested_and_listed_secret_refs_to_other_namespace_denied if {
	inp := client_input("team-a", {}, {"idps": [{"clientSecret": {"name": "s", "namespace": "x"}}], "smtp": {"passwordSecretKeyRef": {"name": "m", "namespace": "y"}}})
	count(authorization.violations) == 2 with input as inp
	some v in authorization.violations with input as inp
	contains(v.message, "spec.idps.0.clientSecret.namespace")
}

# The operator lists the spec's namespaced objects in input.namespaceRefs; when present, the policy
# reads that list instead of walking the spec.
test_namespace_refs_from_operator_are_checked if {
	inp := object.union(client_input("team-a", {}, {}), {"namespaceRefs": [{"path": ["smtp", "passwordSecretRef"], "namespace": "kube-system"}]})
	codes(inp) == {"CrossNamespaceSecretRef"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.smtp.passwordSecretRef.namespace is \"kube-system\"")
}

test_namespace_refs_from_operator_replace_the_walk if {
	spec := {"credentialsSecretRef": {"name": "s", "namespace": "kube-system"}}
	codes(object.union(client_input("team-a", {}, spec), {"namespaceRefs": []})) == set()
}

test_namespace_refs_to_own_namespace_or_non_secrets_allowed if {
	refs := [{"path": ["secretRef"], "namespace": "team-a"}, {"path": ["idps", 0, "configMapRef"], "namespace": "x"}]
	codes(object.union(client_input("team-a", {}, {}), {"namespaceRefs": refs})) == set()
}

test_non_secret_objects_with_namespace_are_ignored if {
	codes(client_input("team-a", {}, {"configMapRef": {"name": "c", "namespace": "other"}})) == set()
}

test_instance_admin_secret_ref_in_other_namespace_denied if {
	inp := {
		"operation": "update", "kind": "KeycloakInstance",
		"resource": {"metadata": {"name": "kc", "namespace": "iam"}, "spec": {"external": {"url": "https://kc", "adminSecretRef": {"name": "a", "namespace": "default"}}}},
		"namespace": {"name": "iam"}, "target": {}, "counts": {},
	}
	codes(inp) == {"CrossNamespaceSecretRef"}
}

test_harmless_service_account_roles_allowed if {
	codes(client_input("team-a", {}, {"serviceAccount": {"realmRoles": ["offline_access"], "clientRoles": {"shop-api": ["read"]}}})) == set()
}

test_privileged_realm_role_denied if {
	inp := client_input("team-a", {}, {"serviceAccount": {"realmRoles": ["manage-users"]}})
	codes(inp) == {"PrivilegedRole"}
	some v in authorization.violations with input as inp
	contains(v.message, "spec.serviceAccount gives the client's service account \"manage-users\" (granted directly: manage-users)")
}

builtin_privileged_roles := [
	"realm-admin",
	"manage-realm",
	"manage-users",
	"manage-clients",
	"manage-authorization",
	"impersonation",
	"manage-events",
	"manage-identity-providers",
	"create-client",
]

test_every_builtin_privileged_role_denied if {
	every role in builtin_privileged_roles {
		codes(client_input("team-a", {}, {"serviceAccount": {"realmRoles": [role]}})) == {"PrivilegedRole"}
	}
}

test_data_cannot_shrink_the_builtin_privileged_roles if {
	every role in builtin_privileged_roles {
		codes(client_input("team-a", {}, {"serviceAccount": {"realmRoles": [role]}})) == {"PrivilegedRole"} with data.kpo.authorization.privilegedRoles as []
	}
}

test_any_realm_management_client_role_denied if {
	inp := client_input("team-a", {}, {"serviceAccount": {"clientRoles": {"realm-management": ["view-users"]}}})
	codes(inp) == {"PrivilegedRole"}
	some v in authorization.violations with input as inp
	contains(v.message, "\"realm-management/view-users\" (granted directly: realm-management/view-users)")
}

test_privileged_role_name_on_other_client_denied if {
	codes(client_input("team-a", {}, {"serviceAccount": {"clientRoles": {"other": ["impersonation"]}}})) == {"PrivilegedRole"}
}

test_data_can_add_privileged_roles_and_clients if {
	codes(client_input("team-a", {}, {"serviceAccount": {"realmRoles": ["super"], "clientRoles": {"vault": ["x"]}}})) == {"PrivilegedRole"} with data.kpo.authorization.privilegedRoles as ["super"]
		with data.kpo.authorization.privilegedClients as ["vault"]
}

test_data_allows_admin_roles_for_a_namespace if {
	inp := client_input("team-a", {}, {"serviceAccount": {"realmRoles": ["manage-users"], "clientRoles": {"realm-management": ["view-users", "manage-clients"]}}})
	codes(inp) == set() with data.kpo.authorization.allowedAdminRoles as {"team-a": ["manage-users", "realm-management/view-users", "manage-clients"]}
	codes(inp) == set() with data.kpo.authorization.allowedAdminRoles as {"team-a": ["*"]}
	codes(inp) == {"PrivilegedRole"} with data.kpo.authorization.allowedAdminRoles as {"team-b": ["*"]}
	count(authorization.violations) == 1 with input as inp with data.kpo.authorization.allowedAdminRoles as {"team-a": ["manage-users", "view-users"]}
}

test_target_without_spec_is_treated_as_granting_nothing if {
	inp := json.patch(realm_input("team-b", {}), [{"op": "remove", "path": "/target/instance/spec"}])
	codes(inp) == {"RealmNamespaceNotGranted"}
	inp2 := json.patch(client_input("team-b", {}, {}), [{"op": "remove", "path": "/target/realm/spec"}])
	codes(inp2) == {"ClientNamespaceNotGranted"}
}
