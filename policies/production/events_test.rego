package kpo.policy.production_test

import data.kpo.policy.production

good_events := {"enabled": true, "expirationSeconds": 2592000, "adminEventsEnabled": true}

test_production_realm_with_events_and_expiration_is_allowed if {
	codes(mk("KeycloakRealm", good_realm, prod)) == set()
	good_realm.events == good_events
}

test_production_realm_without_events_is_denied_for_user_and_admin_events if {
	inp := mk("KeycloakRealm", json.remove(good_realm, ["events"]), prod)
	codes(inp) == {"RealmEventsDisabled"}
	msgs := {v.message | some v in production.violations with input as inp}
	count(msgs) == 2
	some m in msgs
	contains(m, "spec.events.adminEventsEnabled is not true in production namespace \"shop\"")
}

test_production_realm_with_events_that_never_expire_is_denied if {
	inp := mk("KeycloakRealm", with_field(good_realm, "/events", json.remove(good_events, ["expirationSeconds"])), prod)
	codes(inp) == {"RealmEventsNeverExpire"}
	codes(mk("KeycloakRealm", with_field(good_realm, "/events", object.union(good_events, {"expirationSeconds": 0})), prod)) == {"RealmEventsNeverExpire"}
}

test_events_are_not_required_outside_production if {
	codes(mk("KeycloakRealm", json.remove(good_realm, ["events"]), {})) == set()
}
