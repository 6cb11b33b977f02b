package kpo.policy.authorization_test

import data.kpo.policy.authorization

flow_realm(executions) := {
	"operation": "create",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "sso", "namespace": "team-a"}, "spec": {
		"realmName": "team-a",
		"authenticationFlows": [
			{"alias": "corp browser", "executions": [{"authenticator": "auth-cookie", "requirement": "ALTERNATIVE"}, {"subFlow": "corp forms", "requirement": "ALTERNATIVE"}]},
			{"alias": "corp forms", "executions": executions},
		],
	}},
	"namespace": {"name": "team-a", "labels": {}},
	"target": {},
	"counts": {},
}

flow_codes(inp) := {v.code | some v in authorization.violations with input as inp; v.code == "ScriptAuthenticator"}

test_builtin_authenticators_are_allowed if {
	flow_codes(flow_realm([{"authenticator": "auth-username-password-form", "requirement": "REQUIRED"}])) == set()
}

test_script_authenticator_in_a_sub_flow_is_refused if {
	inp := flow_realm([
		{"authenticator": "auth-username-password-form", "requirement": "REQUIRED"},
		{"authenticator": "script-deny-weekends.js", "requirement": "REQUIRED"},
	])
	flow_codes(inp) == {"ScriptAuthenticator"}
	some v in authorization.violations with input as inp
	v.code == "ScriptAuthenticator"
	contains(v.message, "KeycloakRealm team-a/sso: spec.authenticationFlows[corp forms].executions[1] runs authenticator \"script-deny-weekends.js\"")
}

test_script_authenticator_is_refused_whatever_its_case if {
	flow_codes(flow_realm([{"authenticator": "Script-x.js", "requirement": "REQUIRED"}])) == {"ScriptAuthenticator"}
	flow_codes(flow_realm([{"authenticator": "auth-script-based", "requirement": "REQUIRED"}])) == {"ScriptAuthenticator"}
}

test_script_authenticator_on_delete_is_not_governed if {
	inp := json.patch(flow_realm([{"authenticator": "script-x.js", "requirement": "REQUIRED"}]), [{"op": "replace", "path": "/operation", "value": "delete"}])
	flow_codes(inp) == set()
}

test_a_name_containing_script_elsewhere_is_allowed if {
	flow_codes(flow_realm([{"authenticator": "my-script-free-authenticator", "requirement": "REQUIRED"}])) == set()
}
