# Authorization Services (spec.authorization of a KeycloakClient). Policies there only check facts
# about a request: roles, groups, clients, users, time, or a combination of those. A policy type
# that runs code (Keycloak's js policies, or any provider a server adds) would run a tenant's code
# inside Keycloak, so only the checking types are accepted. The CRD's enum refuses the others at
# apply time; this rule holds when the CRD's validation is bypassed or out of date.
#
# Naming a role, group, client or user in a policy grants nothing: a policy only asks whether the
# requester has it. So these lists are not privilege grants (src/policy/privilege.ts has none).
package kpo.policy.authorization

import data.kpo.lib

checking_policy_type("role")

checking_policy_type("group")

checking_policy_type("client")

checking_policy_type("user")

checking_policy_type("time")

checking_policy_type("aggregate")

authorization_policies := [p | some p in lib.field(lib.field(lib.spec, "authorization", {}), "policies", []); is_object(p)]

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakClient"
	some policy in authorization_policies
	type := lib.str(lib.field(policy, "type", ""))
	not checking_policy_type(type)
	v := {
		"code": "AuthorizationPolicyTypeNotAllowed",
		"message": concat("", [
			lib.subject,
			": spec.authorization.policies[",
			lib.str(lib.field(policy, "name", "")),
			"] has type \"",
			type,
			"\", which is not allowed: policies that run code are never accepted. Use a role, group, client, user, time or aggregate policy.",
		]),
	}
}
