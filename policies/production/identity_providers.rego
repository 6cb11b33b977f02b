# Identity providers in production namespaces: every endpoint the realm talks to or sends users to
# must be https. Over plain http, the authorization code, the provider's tokens (which the realm
# trusts to create and log in users) and its signing keys can be read or replaced on the way.
package kpo.policy.production

import data.kpo.lib

# The config fields holding an endpoint of the provider (OIDC, then SAML).
identity_provider_endpoint("authorizationUrl")

identity_provider_endpoint("tokenUrl")

identity_provider_endpoint("userInfoUrl")

identity_provider_endpoint("jwksUrl")

identity_provider_endpoint("logoutUrl")

identity_provider_endpoint("singleSignOnServiceUrl")

identity_provider_endpoint("singleLogoutServiceUrl")

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	some idp in lib.field(spec, "identityProviders", [])
	some field, url in lib.field(idp, "config", {})
	identity_provider_endpoint(field)
	not startswith(lower(lib.str(url)), "https://")
	alias := lib.str(lib.field(idp, "alias", ""))
	v := {
		"code": "IdentityProviderEndpointNotHttps",
		"message": concat("", [
			lib.subject,
			": spec.identityProviders[",
			alias,
			"].config.",
			field,
			" \"",
			lib.str(url),
			"\" is not https in production namespace \"",
			lib.str(input.namespace.name),
			"\", so codes, tokens and keys of identity provider \"",
			alias,
			"\" could be read or forged on the way. Set config.",
			field,
			" to the provider's https:// URL.",
		]),
	}
}
