# Objects no tenant may take: the master realm (unless the instance grants it to one namespace),
# Keycloak's built-in clients and roles, and anything that already exists in Keycloak unless its
# owner grants adoption. Protocol mappers may not forge what other clients' APIs trust.
package kpo.policy.authorization

import data.kpo.lib

# Keycloak's own clients in every realm; data may add more (data.kpo.authorization.reservedClients).
builtin_reserved_client("realm-management")

builtin_reserved_client("admin-cli")

builtin_reserved_client("security-admin-console")

builtin_reserved_client("broker")

builtin_reserved_client("account")

builtin_reserved_client("account-console")

reserved_client(id) if builtin_reserved_client(id)

reserved_client(id) if id in object.get(data.kpo.authorization, "reservedClients", [])

# In the master realm every "<realm>-realm" client administers a realm.
reserved_client(id) if {
	lower(privilege_realm) == "master"
	endswith(id, "-realm")
}

# Keycloak's built-in realm roles; default-roles-<realm> is changed through spec.defaultRoles only.
builtin_reserved_role("offline_access")

builtin_reserved_role("uma_authorization")

reserved_role(name) if builtin_reserved_role(name)

# The master realm's own: admin administers every realm, create-realm creates them.
reserved_role(name) if {
	lower(privilege_realm) == "master"
	name in ["admin", "create-realm"]
}

reserved_role(name) if startswith(lower(name), "default-roles-")

reserved_role(name) if name in object.get(data.kpo.authorization, "reservedRoles", [])

master_realm_granted if {
	grant := lib.field(lib.field(input.target.instance, "spec", {}), "masterRealmGrant", {})
	grant.namespace == input.namespace.name
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	lower(lib.str(lib.field(lib.spec, "realmName", ""))) == "master"
	not master_realm_granted
	v := {
		"code": "ReservedRealm",
		"message": concat("", [
			lib.subject,
			": spec.realmName \"master\" is Keycloak's administration realm; it cannot be managed from namespace \"",
			lib.str(input.namespace.name),
			"\". Choose another realm name. (Only the instance's owners can hand the master realm to one namespace, with spec.masterRealmGrant.namespace.)",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some role in lib.field(lib.spec, "roles", [])
	reserved_role(lib.field(role, "name", ""))
	v := {
		"code": "ReservedRole",
		"message": concat("", [
			lib.subject,
			": spec.roles lists \"",
			lib.str(role.name),
			"\", a role Keycloak creates and uses itself; it cannot be defined or changed here. Rename the role; to add roles every user gets, list them in spec.defaultRoles.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	client_id := lib.str(lib.field(lib.spec, "clientId", ""))
	reserved_client(client_id)
	v := {
		"code": "ReservedClient",
		"message": concat("", [
			lib.subject,
			": spec.clientId \"",
			client_id,
			"\" is one of Keycloak's own clients; it cannot be created, adopted or changed by a KeycloakClient. Choose another clientId.",
		]),
	}
}

# Adoption takes over what someone else made: the instance (for realms) or the realm (for clients)
# must name the namespace and the object in spec.adoptionGrants.
adoption_granted(owner, key, name) if {
	some grant in lib.field(lib.field(owner, "spec", {}), "adoptionGrants", [])
	input.namespace.name in lib.field(grant, "namespaces", [])
	name in lib.field(grant, key, [])
}

# The master realm always exists: the namespace it is granted to adopts it.
adoption_granted(_, "realmNames", _) if master_realm_granted

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	lib.field(lib.spec, "adopt", false) == true
	name := lib.str(lib.field(lib.spec, "realmName", ""))
	not adoption_granted(input.target.instance, "realmNames", name)
	v := {
		"code": "AdoptionNotGranted",
		"message": concat("", [
			lib.subject,
			": spec.adopt asks to take over an existing realm \"",
			name,
			"\", but the KeycloakInstance does not grant that to namespace \"",
			lib.str(input.namespace.name),
			"\". Remove spec.adopt, or ask the instance's owners to add {namespaces: [\"",
			lib.str(input.namespace.name),
			"\"], realmNames: [\"",
			name,
			"\"]} to its spec.adoptionGrants.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	lib.field(lib.spec, "adopt", false) == true
	client_id := lib.str(lib.field(lib.spec, "clientId", ""))
	not adoption_granted(input.target.realm, "clientIds", client_id)
	v := {
		"code": "AdoptionNotGranted",
		"message": concat("", [
			lib.subject,
			": spec.adopt asks to take over an existing client \"",
			client_id,
			"\", but the KeycloakRealm does not grant that to namespace \"",
			lib.str(input.namespace.name),
			"\". Remove spec.adopt, or ask the realm's owners to add {namespaces: [\"",
			lib.str(input.namespace.name),
			"\"], clientIds: [\"",
			client_id,
			"\"]} to its spec.adoptionGrants.",
		]),
	}
}

# Protocol mappers write claims into the client's tokens, which other clients' APIs trust. Only
# known mapper types (data may add more), no reserved claim except where Keycloak's own mapper
# writes it, and a hardcoded role only of the client's own roles.
builtin_allowed_mapper("oidc-usermodel-attribute-mapper")

builtin_allowed_mapper("oidc-usermodel-property-mapper")

builtin_allowed_mapper("oidc-usermodel-realm-role-mapper")

builtin_allowed_mapper("oidc-usermodel-client-role-mapper")

builtin_allowed_mapper("oidc-full-name-mapper")

builtin_allowed_mapper("oidc-address-mapper")

builtin_allowed_mapper("oidc-group-membership-mapper")

builtin_allowed_mapper("oidc-audience-mapper")

builtin_allowed_mapper("oidc-hardcoded-claim-mapper")

builtin_allowed_mapper("oidc-hardcoded-role-mapper")

builtin_allowed_mapper("oidc-usersessionmodel-note-mapper")

builtin_allowed_mapper("oidc-sha256-pairwise-sub-mapper")

# SAML clients: attributes and role lists in the assertion; a hardcoded role follows the same rule
# as the OIDC one.
builtin_allowed_mapper("saml-role-list-mapper")

builtin_allowed_mapper("saml-user-attribute-mapper")

builtin_allowed_mapper("saml-user-property-mapper")

builtin_allowed_mapper("saml-hardcode-attribute-mapper")

builtin_allowed_mapper("saml-hardcode-role-mapper")

allowed_mapper(type) if builtin_allowed_mapper(type)

allowed_mapper(type) if type in object.get(data.kpo.authorization, "allowedProtocolMappers", [])

# Claims a token's consumers use to decide who the caller is and what it may do.
builtin_reserved_claim("sub")

builtin_reserved_claim("iss")

builtin_reserved_claim("aud")

builtin_reserved_claim("azp")

builtin_reserved_claim("exp")

builtin_reserved_claim("iat")

builtin_reserved_claim("nbf")

builtin_reserved_claim("jti")

builtin_reserved_claim("typ")

builtin_reserved_claim("sid")

builtin_reserved_claim("scope")

builtin_reserved_claim("realm_access")

builtin_reserved_claim("resource_access")

builtin_reserved_claim("preferred_username")

builtin_reserved_claim("client_id")

reserved_claim(name) if builtin_reserved_claim(name)

reserved_claim(name) if name in object.get(data.kpo.authorization, "reservedClaims", [])

# Where Keycloak's own mappers write: a role mapper into any other reserved claim could dress one
# client's or the realm's roles up as another client's (resource_access.<other>.roles).
standard_claim(mapper, "realm_access.roles") if mapper.protocolMapper == "oidc-usermodel-realm-role-mapper"

standard_claim(mapper, claim) if {
	mapper.protocolMapper == "oidc-usermodel-client-role-mapper"
	startswith(claim, "resource_access.${client_id}.")
}

standard_claim(mapper, "preferred_username") if {
	mapper.protocolMapper == "oidc-usermodel-property-mapper"
	lib.field(lib.field(mapper, "config", {}), "user.attribute", "") == "username"
}

protocol_mappers := [m | some m in lib.field(lib.spec, "protocolMappers", []); is_object(m)]

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some mapper in protocol_mappers
	type := lib.str(lib.field(mapper, "protocolMapper", ""))
	not allowed_mapper(type)
	v := {
		"code": "ProtocolMapperNotAllowed",
		"message": concat("", [
			lib.subject,
			": spec.protocolMappers[",
			lib.str(lib.field(mapper, "name", "")),
			"] uses mapper type \"",
			type,
			"\", which is not allowed. Use one of the standard OIDC mappers, or ask the security team to add the type to data.kpo.authorization.allowedProtocolMappers.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some mapper in protocol_mappers
	claim := lib.str(lib.field(lib.field(mapper, "config", {}), "claim.name", ""))
	reserved_claim(lower(split(claim, ".")[0]))
	not standard_claim(mapper, claim)
	v := {
		"code": "ReservedClaim",
		"message": concat("", [
			lib.subject,
			": spec.protocolMappers[",
			lib.str(lib.field(mapper, "name", "")),
			"] writes claim \"",
			claim,
			"\", which Keycloak sets itself and APIs trust for identity and roles. Use another claim name.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some mapper in protocol_mappers
	hardcoded_role_mapper(lib.field(mapper, "protocolMapper", ""))
	role := lib.str(lib.field(lib.field(mapper, "config", {}), "role", ""))
	not own_client_role(role)
	v := {
		"code": "ForeignHardcodedRole",
		"message": concat("", [
			lib.subject,
			": spec.protocolMappers[",
			lib.str(lib.field(mapper, "name", "")),
			"] puts role \"",
			role,
			"\" in every token (or SAML assertion), but a client may only hardcode its own roles (\"",
			lib.str(lib.field(lib.spec, "clientId", "")),
			".<role>\" for a role in spec.roles). Grant other roles through the service account or groups, where policy checks them.",
		]),
	}
}

hardcoded_role_mapper("oidc-hardcoded-role-mapper")

hardcoded_role_mapper("saml-hardcode-role-mapper")

own_client_role(setting) if {
	some role in lib.field(lib.spec, "roles", [])
	setting == concat(".", [lib.str(lib.field(lib.spec, "clientId", "")), lib.str(lib.field(role, "name", ""))])
}

# Another team's client roles are that team's to share: a KeycloakClient may name roles of a client
# another namespace manages only where that client's spec.roleGrants admits its namespace.
# input.target.clients lists just the clients the spec names (src/policy/input.ts).
violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some owner in object.get(input.target, "clients", [])
	not lib.namespace_granted(owner, lib.field(lib.field(owner, "spec", {}), "roleGrants", {}), input.namespace)
	v := {
		"code": "ForeignClientRole",
		"message": concat("", [
			lib.subject,
			": the spec grants roles of client \"",
			lib.str(owner.clientId),
			"\", which another namespace manages and has not shared with namespace \"",
			lib.str(input.namespace.name),
			"\". Remove those roles, or ask that client's owners to add \"",
			lib.str(input.namespace.name),
			"\" to its spec.roleGrants.",
		]),
	}
}
