# How many realms, clients and users a namespace (and a realm) may hold. Limits come from, in order of
# precedence: a namespace annotation, data.kpo.quota.namespaces[<namespace>] (or .realms[<ns>/<name>]
# for clients per realm), data.kpo.quota.defaults. Only the creation of a new object is counted, and
# input.counts excludes the object itself, so a limit N admits the N-th object and refuses the N+1-th.
package kpo.policy.quota

import data.kpo.lib

# Clauses, not an object literal, which OPA's wasm would build again on every decision.
annotation_key("maxRealmsPerNamespace") := "kpo.dev/max-realms-per-namespace"

annotation_key("maxClientsPerNamespace") := "kpo.dev/max-clients-per-namespace"

annotation_key("maxUsersPerNamespace") := "kpo.dev/max-users-per-namespace"

namespace_limit(name) := to_number(value) if {
	value := lib.annotations(input.namespace)[annotation_key(name)]
	regex.match(`^[0-9]+$`, value)
} else := data.kpo.quota.namespaces[input.namespace.name][name] if {
	is_number(data.kpo.quota.namespaces[input.namespace.name][name])
} else := data.kpo.quota.defaults[name]

limit_source(name) := concat("", ["annotation ", lib.str(annotation_key(name)), " on namespace ", lib.str(input.namespace.name)]) if {
	regex.match(`^[0-9]+$`, lib.annotations(input.namespace)[annotation_key(name)])
} else := concat("", ["data.kpo.quota.namespaces[\"", lib.str(input.namespace.name), "\"].", lib.str(name)]) if {
	is_number(data.kpo.quota.namespaces[input.namespace.name][name])
} else := concat("", ["data.kpo.quota.defaults.", lib.str(name)])

# The realm a client joins: the resolved target, else the spec reference.
realm_key := lib.ref(input.target.realm) if input.target.realm

else := concat("", [lib.str(lib.field(realm_ref, "namespace", input.namespace.name)), "/", lib.str(lib.field(realm_ref, "name", ""))])

realm_ref := lib.field(lib.spec, "realmRef", {})

realm_namespace := split(realm_key, "/")[0]

realm_limit := data.kpo.quota.realms[realm_key].maxClientsPerRealm if {
	is_number(data.kpo.quota.realms[realm_key].maxClientsPerRealm)
} else := data.kpo.quota.namespaces[realm_namespace].maxClientsPerRealm if {
	is_number(data.kpo.quota.namespaces[realm_namespace].maxClientsPerRealm)
} else := data.kpo.quota.defaults.maxClientsPerRealm

realm_limit_source := concat("", ["data.kpo.quota.realms[\"", lib.str(realm_key), "\"].maxClientsPerRealm"]) if {
	is_number(data.kpo.quota.realms[realm_key].maxClientsPerRealm)
} else := concat("", ["data.kpo.quota.namespaces[\"", lib.str(realm_namespace), "\"].maxClientsPerRealm"]) if {
	is_number(data.kpo.quota.namespaces[realm_namespace].maxClientsPerRealm)
} else := "data.kpo.quota.defaults.maxClientsPerRealm"

count_of(name) := lib.field(input.counts, name, 0)

violations contains v if {
	input.operation == "create"
	input.kind == "KeycloakRealm"
	limit := namespace_limit("maxRealmsPerNamespace")
	count_of("realmsInNamespace") >= limit
	v := {
		"code": "RealmQuotaExceeded",
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" already has ",
			lib.str(count_of("realmsInNamespace")),
			" KeycloakRealm objects and may have at most ",
			lib.str(limit),
			" (",
			lib.str(limit_source("maxRealmsPerNamespace")),
			"). Delete an unused realm, or ask the platform team to raise the limit.",
		]),
	}
}

violations contains v if {
	input.operation == "create"
	input.kind == "KeycloakClient"
	limit := namespace_limit("maxClientsPerNamespace")
	count_of("clientsInNamespace") >= limit
	v := {
		"code": "NamespaceClientQuotaExceeded",
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" already has ",
			lib.str(count_of("clientsInNamespace")),
			" KeycloakClient objects and may have at most ",
			lib.str(limit),
			" (",
			lib.str(limit_source("maxClientsPerNamespace")),
			"). Delete an unused client, or ask the platform team to raise the limit.",
		]),
	}
}

violations contains v if {
	input.operation == "create"
	input.kind == "KeycloakClient"
	count_of("clientsInRealm") >= realm_limit
	v := {
		"code": "RealmClientQuotaExceeded",
		"message": concat("", [
			lib.subject,
			": realm ",
			lib.str(realm_key),
			" (spec.realmRef) already has ",
			lib.str(count_of("clientsInRealm")),
			" clients and may have at most ",
			lib.str(realm_limit),
			" (",
			lib.str(realm_limit_source),
			"). Delete an unused client in that realm, or ask its owners to raise the limit.",
		]),
	}
}

violations contains v if {
	input.operation == "create"
	input.kind == "KeycloakUser"
	limit := namespace_limit("maxUsersPerNamespace")
	count_of("usersInNamespace") >= limit
	v := {
		"code": "NamespaceUserQuotaExceeded",
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" already has ",
			lib.str(count_of("usersInNamespace")),
			" KeycloakUser objects and may have at most ",
			lib.str(limit),
			" (",
			lib.str(limit_source("maxUsersPerNamespace")),
			"). Delete an unused user, or ask the platform team to raise the limit.",
		]),
	}
}
