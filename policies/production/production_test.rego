package kpo.policy.production_test

import data.kpo.policy.production

prod := {"kpo.dev/environment": "production"}

good_realm := {"sslRequired": "external", "bruteForceProtection": {"enabled": true}, "passwordPolicy": "length(12) and digits(1)", "events": {"enabled": true, "expirationSeconds": 2592000, "adminEventsEnabled": true}}

good_client := {"redirectUris": ["https://shop.example.com/callback", "http://localhost:8080/cb", "http://127.0.0.1/cb"], "publicClient": true, "pkceMethod": "S256"}

good_instance := {"managed": {
	"replicas": 2,
	"image": "quay.io/keycloak/keycloak:26.5.2",
	"database": {"vendor": "postgres"},
	"tls": {"secretName": "kc-tls"},
	"hostname": "https://sso.example.com",
	"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
}}

mk(kind, spec, labels) := {
	"operation": "create",
	"kind": kind,
	"resource": {"metadata": {"name": "x", "namespace": "shop"}, "spec": spec},
	"namespace": {"name": "shop", "labels": labels},
	"target": {},
	"counts": {},
}

codes(inp) := {v.code | some v in production.violations with input as inp}

with_field(spec, path, value) := json.patch(spec, [{"op": "add", "path": path, "value": value}])

test_compliant_objects_in_production_allowed if {
	codes(mk("KeycloakRealm", good_realm, prod)) == set()
	codes(mk("KeycloakClient", good_client, prod)) == set()
	codes(mk("KeycloakInstance", good_instance, prod)) == set()
}

test_non_production_namespace_is_not_checked if {
	codes(mk("KeycloakRealm", {"sslRequired": "none"}, {})) == set()
	codes(mk("KeycloakClient", {"implicitFlowEnabled": true}, {"kpo.dev/environment": "staging"})) == set()
}

test_namespace_selected_by_data_name_list_or_custom_selector if {
	codes(mk("KeycloakRealm", {"sslRequired": "none"}, {})) != set() with data.kpo.production.namespaces as ["shop"]
	codes(mk("KeycloakRealm", {"sslRequired": "none"}, {"env": "prod"})) != set() with data.kpo.production.namespaceSelector as {"matchLabels": {"env": "prod"}}
	codes(mk("KeycloakRealm", {"sslRequired": "none"}, prod)) == set() with data.kpo.production.namespaceSelector as {"matchLabels": {"env": "prod"}}
}

test_delete_in_production_is_not_checked if {
	inp := json.patch(mk("KeycloakRealm", {}, prod), [{"op": "replace", "path": "/operation", "value": "delete"}])
	codes(inp) == set()
}

test_realm_ssl_none_denied if {
	inp := mk("KeycloakRealm", with_field(good_realm, "/sslRequired", "NONE"), prod)
	codes(inp) == {"RealmSslNotRequired"}
	some v in production.violations with input as inp
	contains(v.message, "KeycloakRealm shop/x: spec.sslRequired is \"none\" in production namespace \"shop\"")
}

test_realm_missing_ssl_required_uses_keycloak_default if {
	codes(mk("KeycloakRealm", json.remove(good_realm, ["sslRequired"]), prod)) == set()
}

test_realm_brute_force_protection_required if {
	codes(mk("KeycloakRealm", with_field(good_realm, "/bruteForceProtection/enabled", false), prod)) == {"RealmBruteForceProtectionDisabled"}
	codes(mk("KeycloakRealm", json.remove(good_realm, ["bruteForceProtection"]), prod)) == {"RealmBruteForceProtectionDisabled"}
}

test_realm_password_policy_needs_length if {
	codes(mk("KeycloakRealm", json.remove(good_realm, ["passwordPolicy"]), prod)) == {"RealmPasswordPolicyMissingLength"}
	codes(mk("KeycloakRealm", with_field(good_realm, "/passwordPolicy", "digits(2) and maxLength(64)"), prod)) == {"RealmPasswordPolicyMissingLength"}
}

test_realm_password_length_minimum if {
	inp := mk("KeycloakRealm", with_field(good_realm, "/passwordPolicy", "upperCase(1) and length(8)"), prod)
	codes(inp) == {"RealmPasswordTooShort"}
	some v in production.violations with input as inp
	contains(v.message, "sets length(8), below the production minimum of 12")
	codes(mk("KeycloakRealm", with_field(good_realm, "/passwordPolicy", "length(16) and maxLength(64)"), prod)) == set()
	codes(inp) == set() with data.kpo.production.minPasswordLength as 8
}

test_realm_password_policy_object_form if {
	codes(mk("KeycloakRealm", with_field(good_realm, "/passwordPolicy", {"length": 14}), prod)) == set()
	codes(mk("KeycloakRealm", with_field(good_realm, "/passwordPolicy", {"length": 6}), prod)) == {"RealmPasswordTooShort"}
}

test_client_wildcard_redirect_denied if {
	inp := mk("KeycloakClient", with_field(good_client, "/redirectUris/-", "https://shop.example.com/*"), prod)
	codes(inp) == {"ClientRedirectUriWildcard"}
	some v in production.violations with input as inp
	contains(v.message, "spec.redirectUris[3] \"https://shop.example.com/*\"")
}

test_client_plain_http_redirect_denied_except_loopback if {
	codes(mk("KeycloakClient", with_field(good_client, "/redirectUris/-", "http://shop.example.com/cb"), prod)) == {"ClientRedirectUriPlainHttp"}
	codes(mk("KeycloakClient", with_field(good_client, "/redirectUris/-", "HTTP://localhost.evil.com/cb"), prod)) == {"ClientRedirectUriPlainHttp"}
	codes(mk("KeycloakClient", with_field(good_client, "/redirectUris/-", "http://[::1]:3000"), prod)) == set()
}

test_client_implicit_flow_denied if {
	codes(mk("KeycloakClient", with_field(good_client, "/implicitFlowEnabled", true), prod)) == {"ClientImplicitFlowEnabled"}
	codes(mk("KeycloakClient", with_field(good_client, "/implicitFlowEnabled", false), prod)) == set()
}

test_public_client_requires_pkce_s256 if {
	codes(mk("KeycloakClient", json.remove(good_client, ["pkceMethod"]), prod)) == {"PublicClientWithoutPkce"}
	some v in production.violations with input as mk("KeycloakClient", json.remove(good_client, ["pkceMethod"]), prod)
	contains(v.message, "spec.pkceMethod is not set in production namespace")
	some w in production.violations with input as mk("KeycloakClient", with_field(good_client, "/pkceMethod", "plain"), prod)
	contains(w.message, "spec.pkceMethod is \"plain\"")
	codes(mk("KeycloakClient", with_field(good_client, "/pkceMethod", "plain"), prod)) == {"PublicClientWithoutPkce"}
	codes(mk("KeycloakClient", {"publicClient": false, "redirectUris": ["https://a/cb"]}, prod)) == set()
}

test_instance_replicas if {
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/replicas", 1), prod)) == {"InstanceTooFewReplicas"}
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/replicas"]), prod)) == {"InstanceTooFewReplicas"}
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/replicas", 1), prod)) == set() with data.kpo.production.minReplicas as 1
}

test_instance_dev_database_denied if {
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/database/vendor", "dev-mem"), prod)) == {"InstanceDevDatabase"}
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/database"]), prod)) == {"InstanceDevDatabase"}
}

test_instance_tls_required if {
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/tls"]), prod)) == {"InstanceTlsMissing"}
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/tls/secretName", ""), prod)) == {"InstanceTlsMissing"}
}

test_instance_image_must_be_pinned if {
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/image", "quay.io/keycloak/keycloak:latest"), prod)) == {"InstanceImageNotPinned"}
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/image", "registry:5000/keycloak"), prod)) == {"InstanceImageNotPinned"}
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/image"]), prod)) == {"InstanceImageNotPinned"}
	digest := concat("", ["quay.io/keycloak/keycloak@sha256:", concat("", [x | some _ in numbers.range(1, 64); x := "a"])])
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/image", digest), prod)) == set()
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/image", "registry:5000/keycloak:26.5.2"), prod)) == set()
}

test_instance_hostname_required if {
	inp := mk("KeycloakInstance", json.remove(good_instance, ["managed/hostname"]), prod)
	codes(inp) == {"InstanceHostnameMissing"}
	some v in production.violations with input as inp
	contains(v.message, "KeycloakInstance shop/x: spec.managed.hostname is not set in production namespace \"shop\"")
	contains(v.message, "Set spec.managed.hostname")
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/hostname", " "), prod)) == {"InstanceHostnameMissing"}
	codes(mk("KeycloakInstance", with_field(good_instance, "/managed/hostname", "sso.example.com"), prod)) == set()
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/hostname"]), {})) == set()
}

test_instance_resource_requests_required if {
	inp := mk("KeycloakInstance", json.remove(good_instance, ["managed/resources"]), prod)
	codes(inp) == {"InstanceResourcesMissing"}
	some v in production.violations with input as inp
	contains(v.message, "spec.managed.resources.requests has no cpu and no memory in production namespace \"shop\"")
	some w in production.violations with input as mk("KeycloakInstance", json.remove(good_instance, ["managed/resources/requests/memory", "managed/resources/limits"]), prod)
	contains(w.message, "spec.managed.resources.requests has no memory in production namespace")
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/resources/requests/cpu"]), prod)) == {"InstanceResourcesMissing"}
	codes(mk("KeycloakInstance", json.remove(good_instance, ["managed/resources"]), {})) == set()
}

test_instance_zero_requests_are_refused if {
	every zero in [0, "0", "0m", "0.0Gi", ".0", "+0e3"] {
		codes(mk("KeycloakInstance", with_field(good_instance, "/managed/resources/requests/memory", zero), prod)) == {"InstanceResourcesMissing"}
	}
	every quantity in [1, "1", "0.5", "100m", "512Mi", "1e9", "01"] {
		codes(mk("KeycloakInstance", with_field(good_instance, "/managed/resources/requests/memory", quantity), prod)) == set()
	}
}

test_instance_limit_stands_in_for_a_missing_request if {
	limits_only := with_field(json.remove(good_instance, ["managed/resources/requests"]), "/managed/resources/limits", {"cpu": 2, "memory": "2Gi"})
	codes(mk("KeycloakInstance", limits_only, prod)) == set()

	# An explicit zero request stays zero whatever the limit.
	zero_request := with_field(limits_only, "/managed/resources/requests", {"cpu": "0", "memory": "1Gi"})
	codes(mk("KeycloakInstance", zero_request, prod)) == {"InstanceResourcesMissing"}
}

test_external_instance_is_not_checked if {
	codes(mk("KeycloakInstance", {"external": {"url": "https://kc.example.com"}}, prod)) == set()
}

test_external_instance_must_verify_tls if {
	external := {"external": {"url": "https://kc.example.com", "insecureSkipTLSVerify": true}}
	codes(mk("KeycloakInstance", external, prod)) == {"InstanceTlsVerificationDisabled"}
	codes(mk("KeycloakInstance", external, {})) == set()
	codes(mk("KeycloakInstance", {"external": {"url": "https://kc.example.com", "insecureSkipTLSVerify": false}}, prod)) == set()
}
