# Who may use what: realms on instances, clients in realms, Secrets only from the object's own
# namespace, and no realm-admin power for a client's service account unless data allows it.
package kpo.policy.authorization

import data.kpo.lib

# The Keycloak roles that let a service account administer the realm. Data may add to this list
# (data.kpo.authorization.privilegedRoles) but never shrink it; exceptions go through allowedAdminRoles.
# Written as clauses, not a set: OPA's wasm builds a set literal again on every decision, which cost
# about 5 % of the instructions of an allowed decision (docs/benchmarks.md).
builtin_privileged_role("realm-admin")

builtin_privileged_role("manage-realm")

builtin_privileged_role("manage-users")

builtin_privileged_role("manage-clients")

builtin_privileged_role("manage-authorization")

builtin_privileged_role("impersonation")

builtin_privileged_role("manage-events")

builtin_privileged_role("manage-identity-providers")

builtin_privileged_role("create-client")

privileged_role(role) if builtin_privileged_role(role)

privileged_role(role) if role in data.kpo.authorization.privilegedRoles

privileged_client(client_id) if client_id == "realm-management"

privileged_client(client_id) if client_id in data.kpo.authorization.privilegedClients

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	not input.target.instance
	v := {
		"code": "InstanceNotFound",
		"message": concat("", [
			lib.subject,
			": spec.instanceRef ",
			lib.str(ref_text(lib.field(lib.spec, "instanceRef", {}))),
			" does not name a known KeycloakInstance, so namespace \"",
			lib.str(input.namespace.name),
			"\" cannot be checked against its spec.realmGrants. Fix spec.instanceRef (name and namespace) or create the instance first.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	instance := input.target.instance
	not lib.namespace_granted(instance, lib.field(lib.field(instance, "spec", {}), "realmGrants", {}), input.namespace)
	v := {
		"code": "RealmNamespaceNotGranted",
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" may not create realms on KeycloakInstance ",
			lib.str(lib.ref(instance)),
			" (spec.instanceRef). Ask its owners to add \"",
			lib.str(input.namespace.name),
			"\" to spec.realmGrants.namespaces of that instance, or to set a spec.realmGrants.namespaceSelector that matches this namespace's labels.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	not input.target.realm
	v := {
		"code": "RealmNotFound",
		"message": concat("", [
			lib.subject,
			": spec.realmRef ",
			lib.str(ref_text(lib.field(lib.spec, "realmRef", {}))),
			" does not name a known KeycloakRealm, so namespace \"",
			lib.str(input.namespace.name),
			"\" cannot be checked against its spec.clientGrants. Fix spec.realmRef (name and namespace) or create the realm first.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	realm := input.target.realm
	not lib.namespace_granted(realm, lib.field(lib.field(realm, "spec", {}), "clientGrants", {}), input.namespace)
	v := {
		"code": "ClientNamespaceNotGranted",
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" may not create clients in KeycloakRealm ",
			lib.str(lib.ref(realm)),
			" (spec.realmRef). Ask its owners to add \"",
			lib.str(input.namespace.name),
			"\" to spec.clientGrants.namespaces of that realm, or to set a spec.clientGrants.namespaceSelector that matches this namespace's labels.",
		]),
	}
}

# Any secret reference in the spec (secretRef, adminCredentialsSecretRef, clientSecret: {...}, ...)
# that names another namespace would let a tenant read Secrets it has no RBAC for.
violations contains v if {
	lib.governed_operation
	some [path, namespace] in namespace_refs
	namespace != input.resource.metadata.namespace
	secret_ref_key(path[count(path) - 1])
	field := concat(".", ["spec", concat(".", [lib.str(p) | some p in path])])
	v := {
		"code": "CrossNamespaceSecretRef",
		"message": concat("", [
			lib.subject,
			": ",
			lib.str(field),
			".namespace is \"",
			lib.str(namespace),
			"\", but a Secret may only be referenced from the object's own namespace \"",
			lib.str(input.resource.metadata.namespace),
			"\". Copy the Secret into \"",
			lib.str(input.resource.metadata.namespace),
			"\" and remove ",
			lib.str(field),
			".namespace.",
		]),
	}
}

# [path, namespace] of every object below the spec that has a namespace key. The operator lists
# them in input.namespaceRefs (src/policy/compactInput.ts), which costs far less than walking the
# spec in wasm on every decision; an input built by hand without it is walked here.
namespace_refs contains [ref.path, ref.namespace] if {
	some ref in input.namespaceRefs
}

namespace_refs contains [path, value.namespace] if {
	not input.namespaceRefs
	walk(lib.spec, [path, value])
	count(path) > 0
	is_object(value)
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some role in lib.field(service_account, "realmRoles", [])
	privileged_role(role)
	not admin_role_allowed(role)
	v := {
		"code": "PrivilegedServiceAccountRole",
		"message": concat("", [
			lib.subject,
			": spec.serviceAccount.realmRoles grants \"",
			lib.str(role),
			"\", which gives realm-admin power. Remove it, or ask the security team to allow it for namespace \"",
			lib.str(input.namespace.name),
			"\" in data.kpo.authorization.allowedAdminRoles.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some client_id, roles in lib.field(service_account, "clientRoles", {})
	some role in roles
	privileged_client_role(client_id, role)
	not admin_role_allowed(concat("", [lib.str(client_id), "/", lib.str(role)]))
	not admin_role_allowed(role)
	v := {
		"code": "PrivilegedServiceAccountRole",
		"message": concat("", [
			lib.subject,
			": spec.serviceAccount.clientRoles[\"",
			lib.str(client_id),
			"\"] grants \"",
			lib.str(role),
			"\", which gives realm-admin power. Remove it, or ask the security team to allow \"",
			lib.str(client_id), "/", lib.str(role),
			"\" for namespace \"",
			lib.str(input.namespace.name),
			"\" in data.kpo.authorization.allowedAdminRoles.",
		]),
	}
}

# secretRef, adminSecretRef, credentialsSecret, secretKeyRef, ... (any case). String tests, not a
# regex: opa-wasm compiles a regex on every call.
secret_ref_key(key) if endswith(lower(key), "secret")

secret_ref_key(key) if endswith(lower(key), "secretref")

secret_ref_key(key) if endswith(lower(key), "secretkeyref")

service_account := lib.field(lib.spec, "serviceAccount", {})

privileged_client_role(client_id, _) if privileged_client(client_id)

privileged_client_role(_, role) if privileged_role(role)

# data.kpo.authorization.allowedAdminRoles: {namespace: ["manage-users", "realm-management/view-users", "*"]}
admin_role_allowed(role) if {
	some allowed in data.kpo.authorization.allowedAdminRoles[input.namespace.name]
	allowed in {role, "*"}
}

ref_text(r) := concat("", [lib.str(lib.field(r, "namespace", input.namespace.name)), "/", lib.str(lib.field(r, "name", ""))])
