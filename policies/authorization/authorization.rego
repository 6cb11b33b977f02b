# Who may use what: realms on instances, clients and users in realms, Secrets only from the object's
# own namespace, and no realm-admin power through any grant a spec makes unless data allows it.
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

# Clients and users live in a realm: the realm's spec.clientGrants or spec.userGrants (one shape,
# one meaning) must admit the object's namespace. One rule for both, parameterised by the kind.
realm_member := {"grants": "clientGrants", "noun": "clients", "code": "ClientNamespaceNotGranted"} if input.kind == "KeycloakClient"

realm_member := {"grants": "userGrants", "noun": "users", "code": "UserNamespaceNotGranted"} if input.kind == "KeycloakUser"

violations contains v if {
	lib.governed_operation
	grants := realm_member.grants
	not input.target.realm
	v := {
		"code": "RealmNotFound",
		"message": concat("", [
			lib.subject,
			": spec.realmRef ",
			lib.str(ref_text(lib.field(lib.spec, "realmRef", {}))),
			" does not name a known KeycloakRealm, so namespace \"",
			lib.str(input.namespace.name),
			"\" cannot be checked against its spec.",
			grants,
			". Fix spec.realmRef (name and namespace) or create the realm first.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	grants := realm_member.grants
	realm := input.target.realm
	not lib.namespace_granted(realm, lib.field(lib.field(realm, "spec", {}), grants, {}), input.namespace)
	v := {
		"code": realm_member.code,
		"message": concat("", [
			lib.subject,
			": namespace \"",
			lib.str(input.namespace.name),
			"\" may not create ",
			realm_member.noun,
			" in KeycloakRealm ",
			lib.str(lib.ref(realm)),
			" (spec.realmRef). Ask its owners to add \"",
			lib.str(input.namespace.name),
			"\" to spec.",
			grants,
			".namespaces of that realm, or to set a spec.",
			grants,
			".namespaceSelector that matches this namespace's labels.",
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

# Effective privilege. The operator lists, for every grant the spec makes (service-account roles,
# role composites, group role mappings, default roles, hardcoded token roles), each role it confers
# with composites expanded across realm and client roles, and the path that reaches it
# (input.privilege, src/policy/privilege.ts). Any path to a privileged role is denied, whatever
# the name granted directly.
violations contains v if {
	lib.governed_operation
	some grant in privilege_grants
	some reached in grant.reaches
	privileged_reach(reached)
	not reach_allowed(reached)
	v := {
		"code": "PrivilegedRole",
		"message": concat("", [
			lib.subject,
			": ",
			lib.str(grant.field),
			" gives ",
			lib.str(grant.grantee),
			" \"",
			lib.str(reached.role),
			"\" (",
			path_text(reached.path),
			"), which ",
			privilege_reason(reached),
			". Remove that grant or the composite that leads to it, or ask the security team to allow \"",
			lib.str(reached.role),
			"\" for namespace \"",
			lib.str(input.namespace.name),
			"\" in data.kpo.authorization.allowedAdminRoles.",
		]),
	}
}

# The operator always supplies input.privilege; an input written by hand without it is read for the
# service account's direct grants only.
privilege_grants := input.privilege.grants if is_array(input.privilege.grants)

else := [grant |
	roles := direct_service_account_roles
	count(roles) > 0
	grant := {"field": "spec.serviceAccount", "grantee": "the client's service account", "reaches": roles}
]

direct_service_account_roles := array.concat(
	[{"name": role, "role": role, "path": [role]} | some role in lib.field(service_account, "realmRoles", [])],
	[{"client": client_id, "name": role, "role": concat("/", [client_id, role]), "path": [concat("/", [client_id, role])]} |
		some client_id, roles in lib.field(service_account, "clientRoles", {})
		some role in roles
	],
) if input.kind == "KeycloakClient"

else := []

privilege_realm := input.privilege.realm if is_string(input.privilege.realm)

else := lib.field(lib.field(input.target.realm, "spec", {}), "realmName", "") if realm_member

else := lib.field(lib.spec, "realmName", "")

# Every role of the master realm administers Keycloak itself (admin, create-realm, <realm>-realm).
privileged_reach(_) if lower(privilege_realm) == "master"

privileged_reach(reached) if privileged_client(reached.client)

privileged_reach(reached) if privileged_role(reached.name)

privilege_reason(_) := "administers every realm of the Keycloak instance (a role of the master realm)" if lower(privilege_realm) == "master"

else := "gives administration power over the realm"

path_text(path) := concat("", ["granted directly: ", lib.str(path[0])]) if count(path) == 1

# A group membership's path starts at the group ("group /ops → realm-management/realm-admin").
else := concat(" → ", [lib.str(p) | some p in path]) if startswith(lib.str(path[0]), "group ")

else := concat("", ["role ", concat(" → ", [lib.str(p) | some p in path])])

reach_allowed(reached) if admin_role_allowed(reached.role)

# A client role may also be allowed by its bare name (["manage-users"]), as allowedAdminRoles always allowed.
reach_allowed(reached) if {
	reached.client
	admin_role_allowed(reached.name)
}

# secretRef, adminSecretRef, credentialsSecret, secretKeyRef, ... (any case). String tests, not a
# regex: opa-wasm compiles a regex on every call.
secret_ref_key(key) if endswith(lower(key), "secret")

secret_ref_key(key) if endswith(lower(key), "secretref")

secret_ref_key(key) if endswith(lower(key), "secretkeyref")

service_account := lib.field(lib.spec, "serviceAccount", {})

# data.kpo.authorization.allowedAdminRoles: {namespace: ["manage-users", "realm-management/view-users", "*"]}
admin_role_allowed(role) if {
	some allowed in data.kpo.authorization.allowedAdminRoles[input.namespace.name]
	allowed in {role, "*"}
}

ref_text(r) := concat("", [lib.str(lib.field(r, "namespace", input.namespace.name)), "/", lib.str(lib.field(r, "name", ""))])
