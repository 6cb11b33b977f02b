# Users a KeycloakUser may not make or take: none in the master realm (its users administer
# Keycloak itself), never a client's service-account user, and an existing user only with an
# adoption grant of the realm naming its username. What a user's roles and groups confer is
# decided with every other grant (input.privilege, authorization.rego).
package kpo.policy.authorization

import data.kpo.lib

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakUser"
	lower(privilege_realm) == "master"
	v := {
		"code": "ReservedRealm",
		"message": concat("", [
			lib.subject,
			": the master realm's users administer Keycloak itself; a KeycloakUser cannot create, adopt or change them. Point spec.realmRef at another realm.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakUser"
	username := lib.str(lib.field(lib.spec, "username", ""))
	startswith(lower(username), "service-account-")
	v := {
		"code": "ReservedUser",
		"message": concat("", [
			lib.subject,
			": spec.username \"",
			username,
			"\" names a client's service-account user, which Keycloak manages with its client. Choose another username; grant a service account roles in its KeycloakClient's spec.serviceAccount.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakUser"
	lib.field(lib.spec, "adopt", false) == true
	username := lib.str(lib.field(lib.spec, "username", ""))
	not adoption_granted(input.target.realm, "usernames", username)
	v := {
		"code": "AdoptionNotGranted",
		"message": concat("", [
			lib.subject,
			": spec.adopt asks to take over an existing user \"",
			username,
			"\", but the KeycloakRealm does not grant that to namespace \"",
			lib.str(input.namespace.name),
			"\". Remove spec.adopt, or ask the realm's owners to add {namespaces: [\"",
			lib.str(input.namespace.name),
			"\"], usernames: [\"",
			username,
			"\"]} to its spec.adoptionGrants.",
		]),
	}
}
