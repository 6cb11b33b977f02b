# A realm's client scopes put claims and roles into the tokens of every client that uses them, so
# their protocol mappers follow the rules a client's own mappers follow (known types, no reserved
# claim), a hardcoded role only of the realm's own roles (and, through input.privilege, nothing
# privileged), and Keycloak's built-in scopes are never defined, adopted or changed here.
package kpo.policy.authorization

import data.kpo.lib

# The scopes Keycloak creates in every realm (and ones later versions add); data may add more.
builtin_reserved_client_scope(name) if name in {
	"profile", "email", "roles", "web-origins", "acr", "basic", "offline_access", "microprofile-jwt",
	"address", "phone", "role_list", "saml_organization", "organization", "service_account",
}

reserved_client_scope(name) if builtin_reserved_client_scope(lower(name))

reserved_client_scope(name) if name in object.get(data.kpo.authorization, "reservedClientScopes", [])

client_scopes := [s | some s in lib.field(lib.spec, "clientScopes", []); is_object(s)]

scope_protocol(scope) := lib.str(lib.field(scope, "protocol", "openid-connect"))

# Each mapper of each scope, with the scope it belongs to.
scope_mappers contains [scope, mapper] if {
	some scope in client_scopes
	some mapper in lib.field(scope, "protocolMappers", [])
	is_object(mapper)
}

scope_mapper_path(scope, mapper) := concat("", [
	"spec.clientScopes[",
	lib.str(lib.field(scope, "name", "")),
	"].protocolMappers[",
	lib.str(lib.field(mapper, "name", "")),
	"]",
])

# SAML mappers that copy what Keycloak knows into the assertion. Not saml-role-name-mapper, which
# renames a role in every assertion and so can dress an ordinary role up as an administrator's.
builtin_allowed_saml_mapper("saml-user-property-mapper")

builtin_allowed_saml_mapper("saml-user-attribute-mapper")

builtin_allowed_saml_mapper("saml-role-list-mapper")

builtin_allowed_saml_mapper("saml-group-membership-mapper")

builtin_allowed_saml_mapper("saml-hardcode-attribute-mapper")

builtin_allowed_saml_mapper("saml-hardcode-role-mapper")

builtin_allowed_saml_mapper("saml-audience-mapper")

builtin_allowed_saml_mapper("saml-audience-resolve-mapper")

allowed_scope_mapper("saml", type) if builtin_allowed_saml_mapper(type)

allowed_scope_mapper("saml", type) if type in object.get(data.kpo.authorization, "allowedProtocolMappers", [])

# The client allow list holds SAML types too (for SAML clients); an OIDC scope takes only OIDC ones.
allowed_scope_mapper("openid-connect", type) if {
	allowed_mapper(type)
	not builtin_allowed_saml_mapper(type)
}

hardcoded_role_mapper("oidc-hardcoded-role-mapper")

hardcoded_role_mapper("saml-hardcode-role-mapper")

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some scope in client_scopes
	name := lib.str(lib.field(scope, "name", ""))
	reserved_client_scope(name)
	v := {
		"code": "ReservedClientScope",
		"message": concat("", [
			lib.subject,
			": spec.clientScopes lists \"",
			name,
			"\", a client scope Keycloak creates and uses itself; it cannot be defined, adopted or changed here. Rename the scope; to make a built-in scope a realm default, list it in spec.defaultClientScopes or spec.optionalClientScopes.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some [scope, mapper] in scope_mappers
	type := lib.str(lib.field(mapper, "protocolMapper", ""))
	not allowed_scope_mapper(scope_protocol(scope), type)
	v := {
		"code": "ProtocolMapperNotAllowed",
		"message": concat("", [
			lib.subject,
			": ",
			scope_mapper_path(scope, mapper),
			" uses mapper type \"",
			type,
			"\", which is not allowed in a ",
			scope_protocol(scope),
			" client scope. Use one of the standard mappers of that protocol, or ask the security team to add the type to data.kpo.authorization.allowedProtocolMappers.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some [scope, mapper] in scope_mappers
	scope_protocol(scope) == "openid-connect"
	claim := lib.str(lib.field(lib.field(mapper, "config", {}), "claim.name", ""))
	reserved_claim(lower(split(claim, ".")[0]))
	not standard_claim(mapper, claim)
	v := {
		"code": "ReservedClaim",
		"message": concat("", [
			lib.subject,
			": ",
			scope_mapper_path(scope, mapper),
			" writes claim \"",
			claim,
			"\", which Keycloak sets itself and APIs trust for identity and roles. Use another claim name.",
		]),
	}
}

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some [scope, mapper] in scope_mappers
	hardcoded_role_mapper(lib.field(mapper, "protocolMapper", ""))
	role := lib.str(lib.field(lib.field(mapper, "config", {}), "role", ""))
	not own_realm_role(role)
	v := {
		"code": "ForeignHardcodedRole",
		"message": concat("", [
			lib.subject,
			": ",
			scope_mapper_path(scope, mapper),
			" puts role \"",
			role,
			"\" in every token of every client using the scope, but a realm's client scope may only hardcode a realm role defined in the realm's spec.roles. Define the role in spec.roles, or grant it through groups or service accounts, where policy checks who gets it.",
		]),
	}
}

own_realm_role(setting) if {
	some role in lib.field(lib.spec, "roles", [])
	setting == lib.str(lib.field(role, "name", ""))
}
