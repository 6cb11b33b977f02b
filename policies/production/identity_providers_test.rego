package kpo.policy.production_test

import data.kpo.policy.production

https_idp := {
	"alias": "corp",
	"providerId": "oidc",
	"config": {
		"authorizationUrl": "https://id.corp.example/auth",
		"tokenUrl": "https://id.corp.example/token",
		"userInfoUrl": "HTTPS://id.corp.example/userinfo",
		"jwksUrl": "https://id.corp.example/certs",
		"logoutUrl": "https://id.corp.example/logout",
		"clientId": "shop",
		"issuer": "http://issuers-are-names-not-endpoints.example",
	},
}

saml_idp := {"alias": "adfs", "providerId": "saml", "config": {
	"singleSignOnServiceUrl": "https://adfs.example/sso",
	"singleLogoutServiceUrl": "https://adfs.example/slo",
	"wantAssertionsSigned": true,
}}

realm_with_idps(idps) := object.union(good_realm, {"identityProviders": idps})

idp_messages(inp) := {v.message | some v in production.violations with input as inp; v.code == "IdentityProviderEndpointNotHttps"}

test_https_identity_providers_in_production_allowed if {
	codes(mk("KeycloakRealm", realm_with_idps([https_idp, saml_idp]), prod)) == set()
}

test_plain_http_endpoint_denied_naming_alias_field_and_fix if {
	idp := json.patch(https_idp, [{"op": "replace", "path": "/config/tokenUrl", "value": "http://id.corp.example/token"}])
	inp := mk("KeycloakRealm", realm_with_idps([idp]), prod)
	codes(inp) == {"IdentityProviderEndpointNotHttps"}
	idp_messages(inp) == {concat("", [
		"KeycloakRealm shop/x: spec.identityProviders[corp].config.tokenUrl \"http://id.corp.example/token\" ",
		"is not https in production namespace \"shop\", so codes, tokens and keys of identity provider \"corp\" ",
		"could be read or forged on the way. Set config.tokenUrl to the provider's https:// URL.",
	])}
}

test_every_endpoint_field_is_checked if {
	every field in ["authorizationUrl", "tokenUrl", "userInfoUrl", "jwksUrl", "logoutUrl"] {
		idp := json.patch(https_idp, [{"op": "replace", "path": concat("/", ["", "config", field]), "value": "http://127.0.0.1:8080/x"}])
		count(idp_messages(mk("KeycloakRealm", realm_with_idps([idp]), prod))) == 1
	}
	every field in ["singleSignOnServiceUrl", "singleLogoutServiceUrl"] {
		idp := json.patch(saml_idp, [{"op": "replace", "path": concat("/", ["", "config", field]), "value": "http://adfs.example/x"}])
		count(idp_messages(mk("KeycloakRealm", realm_with_idps([idp]), prod))) == 1
	}
}

test_each_insecure_provider_is_reported_on_its_own if {
	a := json.patch(https_idp, [{"op": "replace", "path": "/config/jwksUrl", "value": "http://a.example/certs"}])
	b := json.patch(saml_idp, [{"op": "replace", "path": "/config/singleSignOnServiceUrl", "value": "ftp://b.example/sso"}])
	messages := idp_messages(mk("KeycloakRealm", realm_with_idps([a, b]), prod))
	count(messages) == 2
	some m1 in messages
	contains(m1, "spec.identityProviders[corp].config.jwksUrl")
	some m2 in messages
	contains(m2, "spec.identityProviders[adfs].config.singleSignOnServiceUrl")
}

test_plain_http_identity_provider_outside_production_allowed if {
	idp := json.patch(https_idp, [{"op": "replace", "path": "/config/authorizationUrl", "value": "http://127.0.0.1:8080/auth"}])
	codes(mk("KeycloakRealm", realm_with_idps([idp]), {})) == set()
}
