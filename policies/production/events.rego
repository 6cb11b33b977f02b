# Production realms keep an audit trail: user events (logins, failures) and admin events (changes
# through the admin API) are stored, and expire, so the store does not grow without bound.
package kpo.policy.production

import data.kpo.lib

events := lib.field(spec, "events", {})

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	some [field, what] in [["enabled", "user events"], ["adminEventsEnabled", "admin events"]]
	lib.field(events, field, false) != true
	v := {
		"code": "RealmEventsDisabled",
		"message": concat("", [
			lib.subject,
			": spec.events.",
			field,
			" is not true in production namespace \"",
			lib.str(input.namespace.name),
			"\", so ",
			what,
			" leave no audit trail. Set spec.events.",
			field,
			": true.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	lib.field(events, "enabled", false) == true
	lib.field(events, "expirationSeconds", 0) <= 0
	v := {
		"code": "RealmEventsNeverExpire",
		"message": concat("", [
			lib.subject,
			": spec.events.expirationSeconds is not set in production namespace \"",
			lib.str(input.namespace.name),
			"\", so stored user events are kept forever and the database grows without bound. Set spec.events.expirationSeconds, e.g. 2592000 (30 days).",
		]),
	}
}
