package kpo_test

import data.kpo

# A client in a production namespace that breaks one rule of each policy.
bad_client := {
	"operation": "create",
	"kind": "KeycloakClient",
	"resource": {"metadata": {"name": "web", "namespace": "team-a"}, "spec": {"implicitFlowEnabled": true}},
	"namespace": {"name": "team-a", "labels": {"kpo.dev/environment": "production"}},
	"target": {"realm": {"metadata": {"name": "shop", "namespace": "platform"}, "spec": {}}},
	"counts": {"clientsInNamespace": 1000},
}

good_client := json.patch(bad_client, [
	{"op": "replace", "path": "/resource/spec", "value": {}},
	{"op": "replace", "path": "/namespace/labels", "value": {}},
	{"op": "replace", "path": "/counts", "value": {}},
	{"op": "add", "path": "/target/realm/spec/clientGrants", "value": {"namespaces": ["team-a"]}},
])

test_compliant_input_is_allowed_without_violations if {
	kpo.decision == {"allowed": true, "violations": [], "warnings": []} with input as good_client
}

test_violations_of_every_policy_are_reported_and_deny if {
	d := kpo.decision with input as bad_client
	d.allowed == false
	{v.policy | some v in d.violations} == {"authorization", "quota", "production"}
	every v in d.violations {
		v.enforcement == "enforce"
		is_string(v.code)
		is_string(v.message)
	}
	d.warnings == []
}

test_warn_mode_allows_and_reports_warnings if {
	d := kpo.decision with input as bad_client with data.kpo.enforcement as {"authorization": "warn", "quota": "warn", "production": "warn"}
	d.allowed == true
	count(d.warnings) == count(d.violations)
	count(d.violations) == 3
}

test_dryrun_mode_allows_without_warnings if {
	d := kpo.decision with input as bad_client with data.kpo.enforcement as {"authorization": "dryrun", "quota": "dryrun", "production": "dryrun"}
	d.allowed == true
	d.warnings == []
	count(d.violations) == 3
}

test_one_enforced_policy_is_enough_to_deny if {
	d := kpo.decision with input as bad_client with data.kpo.enforcement as {"authorization": "dryrun", "quota": "warn", "production": "enforce"}
	d.allowed == false
	count(d.warnings) == 1
}

test_namespace_override_beats_global_mode if {
	d := kpo.decision with input as bad_client
		with data.kpo.enforcement as {"authorization": "warn", "quota": "warn", "production": "warn"}
		with data.kpo.namespaceEnforcement as {"team-a": {"quota": "enforce"}}
	d.allowed == false
	{v.policy | some v in d.violations; v.enforcement == "enforce"} == {"quota"}
}

test_unknown_or_missing_mode_falls_back_to_enforce if {
	d := kpo.decision with input as bad_client with data.kpo.enforcement as {"authorization": "off", "quota": "warn", "production": "warn"}
	d.allowed == false
	{v.policy | some v in d.violations; v.enforcement == "enforce"} == {"authorization"}
	kpo.mode_of("nothing") == "enforce" with input as bad_client
}

test_malformed_input_is_denied if {
	d := kpo.decision with input as {}
	d.allowed == false
	[v.code | some v in d.violations] == ["MalformedPolicyInput"]
	e := kpo.decision with input as json.patch(good_client, [{"op": "replace", "path": "/kind", "value": "Pod"}])
	e.allowed == false
}
