package kpo.policy.authorization_test

import data.kpo.policy.authorization

authz_input(policies) := client_spec_input("team-a", {"authorization": {"policies": policies}}, realm)

test_code_running_policy_types_are_refused if {
	every type in ["js", "script-evil.js", "", "JS"] {
		codes(authz_input([{"name": "p", "type": type}])) == {"AuthorizationPolicyTypeNotAllowed"}
	}
	some v in authorization.violations with input as authz_input([{"name": "everyone", "type": "js", "code": "$evaluation.grant()"}])
	contains(v.message, "spec.authorization.policies[everyone] has type \"js\"")
	contains(v.message, "Use a role, group, client, user, time or aggregate policy")
}

test_checking_policy_types_are_allowed if {
	every type in ["role", "group", "client", "user", "time", "aggregate"] {
		codes(authz_input([{"name": "p", "type": type}])) == set()
	}
	codes(client_spec_input("team-a", {"authorization": {}}, realm)) == set()
}

test_a_role_policy_naming_a_privileged_role_grants_nothing if {
	inp := authz_input([{"name": "admins", "type": "role", "roles": [{"role": "realm-management/realm-admin"}]}])
	codes(inp) == set()
}
