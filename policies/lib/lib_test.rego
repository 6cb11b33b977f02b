package kpo.lib_test

import data.kpo.lib

test_match_labels_all_pairs_must_hold if {
	lib.selector_matches({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1", "b": "2", "c": "3"})
	not lib.selector_matches({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1"})
}

test_empty_selector_matches_everything_but_no_selector_matches_nothing if {
	lib.selector_matches({}, {})
	not lib.selector_matches(null, {"a": "1"})
}

test_match_expressions_in_and_not_in if {
	lib.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold", "silver"]}]}, {"tier": "gold"})
	not lib.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold"]}]}, {"tier": "bronze"})
	lib.selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gold"]}]}, {})
	not lib.selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gold"]}]}, {"tier": "gold"})
}

test_match_expressions_exists_and_does_not_exist if {
	lib.selector_matches({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {"team": "a"})
	not lib.selector_matches({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {})
	lib.selector_matches({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {})
	not lib.selector_matches({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {"team": "a"})
	not lib.selector_matches({"matchExpressions": [{"key": "team", "operator": "Bogus"}]}, {"team": "a"})
}

test_namespace_granted_by_own_namespace_name_or_selector if {
	owner := {"metadata": {"name": "kc", "namespace": "iam"}}
	lib.namespace_granted(owner, {}, {"name": "iam"})
	lib.namespace_granted(owner, {"namespaces": ["team-a"]}, {"name": "team-a"})
	lib.namespace_granted(owner, {"namespaceSelector": {"matchLabels": {"t": "x"}}}, {"name": "team-b", "labels": {"t": "x"}})
	not lib.namespace_granted(owner, {"namespaces": ["team-a"]}, {"name": "team-b"})
	not lib.namespace_granted(owner, null, {"name": "team-b"})
}

test_field_returns_value_or_fallback if {
	lib.field({"a": 1}, "a", 0) == 1
	lib.field({"a": false}, "a", true) == false
	lib.field({}, "a", 0) == 0
	lib.field(null, "a", 0) == 0
}

test_str_renders_strings_numbers_and_other_values if {
	lib.str("x") == "x"
	lib.str(12) == "12"
	lib.str(true) == "true"
}

test_labels_and_annotations_default_to_empty if {
	lib.labels({"name": "a"}) == {}
	lib.labels({"name": "a", "labels": {"x": "y"}}) == {"x": "y"}
	lib.annotations({"name": "a"}) == {}
	lib.annotations({"name": "a", "annotations": {"x": "y"}}) == {"x": "y"}
}

test_spec_defaults_to_empty_object if {
	lib.spec == {} with input as {"resource": {"metadata": {}}}
	lib.spec == {"a": 1} with input as {"resource": {"spec": {"a": 1}}}
}
