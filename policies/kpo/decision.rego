# The single entrypoint (kpo/decision) the operator, the CLI and `opa eval` ask. It gathers the
# violations of each policy package, applies the enforcement mode configured in data, and answers
# the Decision of src/policy/decision.ts: {allowed, violations: [{policy, code, message, enforcement}], warnings}.
package kpo

import data.kpo.policy.authorization
import data.kpo.policy.production
import data.kpo.policy.quota

modes := {"enforce", "warn", "dryrun"}

policy_violations := {
	"authorization": authorization.violations,
	"quota": quota.violations,
	"production": production.violations,
}

# Enforcement: data.kpo.namespaceEnforcement[<namespace>][<policy>], else data.kpo.enforcement[<policy>],
# else enforce. An unknown mode also falls back to enforce, so a typo never disables a policy.
mode_of(policy) := mode if {
	mode := data.kpo.namespaceEnforcement[input.namespace.name][policy]
	mode in modes
} else := mode if {
	mode := data.kpo.enforcement[policy]
	mode in modes
} else := "enforce"

# An input the policies cannot read (no kind, no namespace, no resource name) would otherwise make
# every rule undefined and pass; refuse it instead.
input_violations contains v if {
	not valid_input
	v := {
		"policy": "input",
		"code": "MalformedPolicyInput",
		"message": "The policy input lacks kind (KeycloakInstance, KeycloakRealm, KeycloakClient or KeycloakUser), operation (create, update or delete), namespace.name or resource.metadata.{name,namespace}; the operator must build it as src/policy/decision.ts PolicyInput describes.",
		"enforcement": "enforce",
	}
}

# Clauses rather than `x in {...}`: OPA's wasm builds a set literal again on every decision.
known_kind("KeycloakInstance")

known_kind("KeycloakRealm")

known_kind("KeycloakClient")

known_kind("KeycloakUser")

known_operation("create")

known_operation("update")

known_operation("delete")

valid_input if {
	known_kind(input.kind)
	known_operation(input.operation)
	is_string(input.namespace.name)
	is_string(input.resource.metadata.name)
	is_string(input.resource.metadata.namespace)
}

violations := sort(input_violations | {v |
	some policy, found in policy_violations
	some x in found
	v := {"policy": policy, "code": x.code, "message": x.message, "enforcement": mode_of(policy)}
})

default allowed := false

allowed if {
	every v in violations {
		v.enforcement != "enforce"
	}
}

decision := {
	"allowed": allowed,
	"violations": violations,
	"warnings": [v.message | some v in violations; v.enforcement == "warn"],
}
