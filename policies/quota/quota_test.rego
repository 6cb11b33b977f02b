package kpo.policy.quota_test

import data.kpo.policy.quota

realm_input(counts, annotations) := {
	"operation": "create",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "r", "namespace": "team-a"}, "spec": {}},
	"namespace": {"name": "team-a", "labels": {}, "annotations": annotations},
	"target": {},
	"counts": counts,
}

client_input(counts, annotations) := {
	"operation": "create",
	"kind": "KeycloakClient",
	"resource": {"metadata": {"name": "web", "namespace": "team-a"}, "spec": {"realmRef": {"name": "shop", "namespace": "platform"}}},
	"namespace": {"name": "team-a", "labels": {}, "annotations": annotations},
	"target": {"realm": {"metadata": {"name": "shop", "namespace": "platform"}, "spec": {}}},
	"counts": counts,
}

user_input(counts, annotations) := {
	"operation": "create",
	"kind": "KeycloakUser",
	"resource": {"metadata": {"name": "bot", "namespace": "team-a"}, "spec": {"realmRef": {"name": "shop", "namespace": "platform"}}},
	"namespace": {"name": "team-a", "labels": {}, "annotations": annotations},
	"target": {},
	"counts": counts,
}

quota_data := {
	"defaults": {"maxRealmsPerNamespace": 2, "maxClientsPerRealm": 3, "maxClientsPerNamespace": 4, "maxUsersPerNamespace": 2},
	"namespaces": {},
	"realms": {},
}

codes(inp) := {v.code | some v in quota.violations with input as inp}

test_realm_under_limit_allowed if {
	codes(realm_input({"realmsInNamespace": 1}, {})) == set() with data.kpo.quota as quota_data
}

test_realm_at_limit_denied if {
	inp := realm_input({"realmsInNamespace": 2}, {})
	codes(inp) == {"RealmQuotaExceeded"} with data.kpo.quota as quota_data
	some v in quota.violations with input as inp with data.kpo.quota as quota_data
	contains(v.message, "already has 2 KeycloakRealm objects and may have at most 2 (data.kpo.quota.defaults.maxRealmsPerNamespace)")
}

test_missing_counts_are_zero if {
	codes(realm_input({}, {})) == set() with data.kpo.quota as quota_data
}

test_update_and_delete_never_count if {
	every op in ["update", "delete"] {
		inp := json.patch(realm_input({"realmsInNamespace": 9}, {}), [{"op": "replace", "path": "/operation", "value": op}])
		codes(inp) == set() with data.kpo.quota as quota_data
	}
}

test_namespace_data_overrides_default if {
	d := json.patch(quota_data, [{"op": "add", "path": "/namespaces/team-a", "value": {"maxRealmsPerNamespace": 5}}])
	codes(realm_input({"realmsInNamespace": 4}, {})) == set() with data.kpo.quota as d
	inp := realm_input({"realmsInNamespace": 5}, {})
	some v in quota.violations with input as inp with data.kpo.quota as d
	contains(v.message, "data.kpo.quota.namespaces[\"team-a\"].maxRealmsPerNamespace")
}

test_annotation_overrides_data if {
	d := json.patch(quota_data, [{"op": "add", "path": "/namespaces/team-a", "value": {"maxRealmsPerNamespace": 5}}])
	ann := {"kpo.dev/max-realms-per-namespace": "1"}
	inp := realm_input({"realmsInNamespace": 1}, ann)
	codes(inp) == {"RealmQuotaExceeded"} with data.kpo.quota as d
	some v in quota.violations with input as inp with data.kpo.quota as d
	contains(v.message, "annotation kpo.dev/max-realms-per-namespace on namespace team-a")
}

test_invalid_annotation_is_ignored if {
	codes(realm_input({"realmsInNamespace": 1}, {"kpo.dev/max-realms-per-namespace": "lots"})) == set() with data.kpo.quota as quota_data
}

test_clients_per_namespace if {
	codes(client_input({"clientsInNamespace": 3}, {})) == set() with data.kpo.quota as quota_data
	codes(client_input({"clientsInNamespace": 4}, {})) == {"NamespaceClientQuotaExceeded"} with data.kpo.quota as quota_data
	codes(client_input({"clientsInNamespace": 4}, {"kpo.dev/max-clients-per-namespace": "10"})) == set() with data.kpo.quota as quota_data
}

test_clients_per_realm if {
	codes(client_input({"clientsInRealm": 2}, {})) == set() with data.kpo.quota as quota_data
	inp := client_input({"clientsInRealm": 3}, {})
	codes(inp) == {"RealmClientQuotaExceeded"} with data.kpo.quota as quota_data
	some v in quota.violations with input as inp with data.kpo.quota as quota_data
	contains(v.message, "realm platform/shop (spec.realmRef) already has 3 clients and may have at most 3 (data.kpo.quota.defaults.maxClientsPerRealm)")
}

test_clients_per_realm_overrides_by_realm_then_realm_namespace if {
	by_ns := json.patch(quota_data, [{"op": "add", "path": "/namespaces/platform", "value": {"maxClientsPerRealm": 10}}])
	codes(client_input({"clientsInRealm": 9}, {})) == set() with data.kpo.quota as by_ns
	some v in quota.violations with input as client_input({"clientsInRealm": 10}, {}) with data.kpo.quota as by_ns
	contains(v.message, "data.kpo.quota.namespaces[\"platform\"].maxClientsPerRealm")

	by_realm := json.patch(by_ns, [{"op": "add", "path": "/realms/platform~1shop", "value": {"maxClientsPerRealm": 1}}])
	some w in quota.violations with input as client_input({"clientsInRealm": 1}, {}) with data.kpo.quota as by_realm
	contains(w.message, "data.kpo.quota.realms[\"platform/shop\"].maxClientsPerRealm")
}

test_clients_per_realm_uses_spec_ref_when_target_unknown if {
	inp := json.patch(client_input({"clientsInRealm": 1}, {}), [{"op": "remove", "path": "/target/realm"}])
	d := json.patch(quota_data, [{"op": "add", "path": "/realms/platform~1shop", "value": {"maxClientsPerRealm": 1}}])
	codes(inp) == {"RealmClientQuotaExceeded"} with data.kpo.quota as d
}

test_shipped_defaults_are_numbers if {
	every name in ["maxRealmsPerNamespace", "maxClientsPerRealm", "maxClientsPerNamespace", "maxUsersPerNamespace"] {
		is_number(data.kpo.quota.defaults[name])
	}
}

test_users_per_namespace if {
	codes(user_input({"usersInNamespace": 1}, {})) == set() with data.kpo.quota as quota_data
	inp := user_input({"usersInNamespace": 2}, {})
	codes(inp) == {"NamespaceUserQuotaExceeded"} with data.kpo.quota as quota_data
	some v in quota.violations with input as inp with data.kpo.quota as quota_data
	contains(v.message, "already has 2 KeycloakUser objects and may have at most 2 (data.kpo.quota.defaults.maxUsersPerNamespace)")
	codes(user_input({"usersInNamespace": 2}, {"kpo.dev/max-users-per-namespace": "5"})) == set() with data.kpo.quota as quota_data

	# Only a creation counts: an update of an existing user is never refused by the quota.
	codes(json.patch(inp, [{"op": "replace", "path": "/operation", "value": "update"}])) == set() with data.kpo.quota as quota_data
}
