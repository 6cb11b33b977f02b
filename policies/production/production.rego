# Settings required in production namespaces: those matching data.kpo.production.namespaceSelector
# (default label kpo.dev/environment=production) or listed in data.kpo.production.namespaces.
package kpo.policy.production

import data.kpo.lib

default namespace_selector := {"matchLabels": {"kpo.dev/environment": "production"}}

namespace_selector := data.kpo.production.namespaceSelector

default min_password_length := 12

min_password_length := data.kpo.production.minPasswordLength

default min_replicas := 2

min_replicas := data.kpo.production.minReplicas

production_namespace if lib.selector_matches(namespace_selector, lib.labels(input.namespace))

production_namespace if input.namespace.name in data.kpo.production.namespaces

applies if {
	lib.governed_operation
	production_namespace
}

spec := lib.spec

# --- KeycloakRealm ---------------------------------------------------------------------------------

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	lower(lib.field(spec, "sslRequired", "external")) == "none"
	v := {
		"code": "RealmSslNotRequired",
		"message": concat("", [
			lib.subject,
			": spec.sslRequired is \"none\" in production namespace \"",
			lib.str(input.namespace.name),
			"\", so tokens and passwords may travel unencrypted. Set spec.sslRequired to \"external\" or \"all\".",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	lib.field(lib.field(spec, "bruteForceProtection", {}), "enabled", false) != true
	v := {
		"code": "RealmBruteForceProtectionDisabled",
		"message": concat("", [
			lib.subject,
			": spec.bruteForceProtection.enabled is not true in production namespace \"",
			lib.str(input.namespace.name),
			"\", so passwords can be guessed without lockout. Set spec.bruteForceProtection.enabled: true.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	not password_length
	v := {
		"code": "RealmPasswordPolicyMissingLength",
		"message": concat("", [
			lib.subject,
			": spec.passwordPolicy has no length(N) rule in production namespace \"",
			lib.str(input.namespace.name),
			"\". Add length(",
			lib.str(min_password_length),
			") or more to spec.passwordPolicy, e.g. \"length(",
			lib.str(min_password_length),
			") and notUsername\".",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	password_length < min_password_length
	v := {
		"code": "RealmPasswordTooShort",
		"message": concat("", [
			lib.subject,
			": spec.passwordPolicy sets length(",
			lib.str(password_length),
			"), below the production minimum of ",
			lib.str(min_password_length),
			" in namespace \"",
			lib.str(input.namespace.name),
			"\". Change it to length(",
			lib.str(min_password_length),
			") or more.",
		]),
	}
}

# Keycloak's policy string, e.g. "length(12) and digits(1) and notUsername"; the smallest length()
# wins if it appears twice. An object form {length: N} is accepted too.
password_length := min({to_number(m[1]) |
	some m in regex.find_all_string_submatch_n(`(?:^|[^A-Za-z])length\(\s*([0-9]+)\s*\)`, spec.passwordPolicy, -1)
}) if {
	is_string(spec.passwordPolicy)
	regex.match(`(?:^|[^A-Za-z])length\(\s*[0-9]+\s*\)`, spec.passwordPolicy)
}

password_length := spec.passwordPolicy.length if is_number(spec.passwordPolicy.length)

# --- KeycloakClient --------------------------------------------------------------------------------

redirect_uris := [u | some u in lib.field(spec, "redirectUris", []); is_string(u)]

violations contains v if {
	applies
	input.kind == "KeycloakClient"
	some i, uri in redirect_uris
	contains(uri, "*")
	v := {
		"code": "ClientRedirectUriWildcard",
		"message": concat("", [
			lib.subject,
			": spec.redirectUris[",
			lib.str(i),
			"] \"",
			lib.str(uri),
			"\" contains a wildcard in production namespace \"",
			lib.str(input.namespace.name),
			"\", which lets an attacker receive codes and tokens on any matching URL. List each exact redirect URI instead.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakClient"
	some i, uri in redirect_uris
	startswith(lower(uri), "http://")
	not regex.match(`^http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?([/?#].*)?$`, lower(uri))
	v := {
		"code": "ClientRedirectUriPlainHttp",
		"message": concat("", [
			lib.subject,
			": spec.redirectUris[",
			lib.str(i),
			"] \"",
			lib.str(uri),
			"\" uses plain http in production namespace \"",
			lib.str(input.namespace.name),
			"\", so authorization codes travel unencrypted. Use https:// (plain http is accepted only for localhost and 127.0.0.1).",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakClient"
	lib.field(spec, "implicitFlowEnabled", false) == true
	v := {
		"code": "ClientImplicitFlowEnabled",
		"message": concat("", [
			lib.subject,
			": spec.implicitFlowEnabled is true in production namespace \"",
			lib.str(input.namespace.name),
			"\"; the implicit flow returns tokens in the URL. Set spec.implicitFlowEnabled: false and use the authorization code flow with PKCE.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakClient"
	lib.field(spec, "publicClient", false) == true
	lib.field(spec, "pkceMethod", "") != "S256"
	v := {
		"code": "PublicClientWithoutPkce",
		"message": concat("", [
			lib.subject,
			": spec.publicClient is true but spec.pkceMethod is ",
			pkce_method_text,
			" in production namespace \"",
			lib.str(input.namespace.name),
			"\"; a public client without PKCE lets an intercepted authorization code be redeemed. Set spec.pkceMethod: S256.",
		]),
	}
}

pkce_method_text := concat("", ["\"", lib.str(spec.pkceMethod), "\""]) if spec.pkceMethod

else := "not set"

# --- KeycloakInstance (managed) --------------------------------------------------------------------

managed := spec.managed if is_object(spec.managed)

violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	replicas := lib.field(managed, "replicas", 1)
	replicas < min_replicas
	v := {
		"code": "InstanceTooFewReplicas",
		"message": concat("", [
			lib.subject,
			": spec.managed.replicas is ",
			lib.str(replicas),
			" in production namespace \"",
			lib.str(input.namespace.name),
			"\"; one pod restart would take Keycloak down. Set spec.managed.replicas to ",
			lib.str(min_replicas),
			" or more.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	vendor := lib.field(lib.field(managed, "database", {}), "vendor", "dev-file")
	vendor in {"dev-file", "dev-mem"}
	v := {
		"code": "InstanceDevDatabase",
		"message": concat("", [
			lib.subject,
			": spec.managed.database.vendor is \"",
			lib.str(vendor),
			"\" in production namespace \"",
			lib.str(input.namespace.name),
			"\"; the development database loses data and cannot be shared by replicas. Set spec.managed.database.vendor to postgres (or another supported server database) with its connection settings.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	managed
	not tls_configured
	v := {
		"code": "InstanceTlsMissing",
		"message": concat("", [
			lib.subject,
			": spec.managed.tls.secretName is not set in production namespace \"",
			lib.str(input.namespace.name),
			"\", so Keycloak would serve plain HTTP. Set spec.managed.tls.secretName to a kubernetes.io/tls Secret in namespace \"",
			lib.str(input.namespace.name),
			"\".",
		]),
	}
}

tls_configured if {
	name := managed.tls.secretName
	is_string(name)
	name != ""
}

violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	image := lib.field(managed, "image", "")
	not image_pinned(image)
	v := {
		"code": "InstanceImageNotPinned",
		"message": concat("", [
			lib.subject,
			": spec.managed.image \"",
			lib.str(image),
			"\" has no pinned tag in production namespace \"",
			lib.str(input.namespace.name),
			"\", so a restart may silently change the Keycloak version. Set spec.managed.image with an explicit version tag (not \"latest\") or a @sha256 digest.",
		]),
	}
}

image_pinned(image) if regex.match(`^[^@\s]+@sha256:[a-f0-9]{64}$`, image)

image_pinned(image) if {
	is_string(image)
	not contains(image, "@")
	tag := image_tag(image)
	tag != "latest"
}

# The tag is what follows the last ':' of the last path segment ("host:5000/keycloak" has no tag).
image_tag(image) := tag if {
	segments := split(image, "/")
	name_and_tag := split(segments[count(segments) - 1], ":")
	count(name_and_tag) == 2
	tag := name_and_tag[1]
	tag != ""
}

# Without spec.managed.hostname Keycloak runs with hostname-strict=false and builds its URLs (the
# token issuer, redirects, the links in e-mails) from each request's Host header, so whoever sends
# the request chooses them.
violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	managed
	not hostname_configured
	v := {
		"code": "InstanceHostnameMissing",
		"message": concat("", [
			lib.subject,
			": spec.managed.hostname is not set in production namespace \"",
			lib.str(input.namespace.name),
			"\", so Keycloak would derive its issuer and redirect URLs from each request's Host header, which a client chooses. Set spec.managed.hostname to the public URL, e.g. https://sso.example.com.",
		]),
	}
}

hostname_configured if {
	hostname := managed.hostname
	is_string(hostname)
	trim_space(hostname) != ""
}

# Without requests the scheduler counts Keycloak as needing nothing: it can overcommit the node, and
# a pod without a memory request is among the first the kubelet evicts or the kernel OOM-kills.
# A limit without a request counts: Kubernetes copies the limit into the missing request.
violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	managed
	missing := [name | some name in ["cpu", "memory"]; not resource_requested(name)]
	count(missing) > 0
	v := {
		"code": "InstanceResourcesMissing",
		"message": concat("", [
			lib.subject,
			": spec.managed.resources.requests has no ",
			concat(" and no ", missing),
			" in production namespace \"",
			lib.str(input.namespace.name),
			"\", so the scheduler may overcommit the node and Keycloak is among the first pods OOM-killed or evicted. Set spec.managed.resources.requests.cpu and .memory, e.g. {cpu: 500m, memory: 1Gi}.",
		]),
	}
}

managed_resources := lib.field(managed, "resources", {})

resource_requested(name) if quantity_set(lib.field(lib.field(managed_resources, "requests", {}), name, 0))

resource_requested(name) if {
	not lib.field(managed_resources, "requests", {})[name]
	quantity_set(lib.field(lib.field(managed_resources, "limits", {}), name, 0))
}

# A quantity of zero ("0", "0m", "0Gi", 0) asks for nothing.
quantity_set(q) if {
	is_number(q)
	q > 0
}

quantity_set(q) if {
	is_string(q)
	not regex.match(`^\+?(0+\.?0*|\.0+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$`, q)
}

# --- KeycloakInstance (external) -------------------------------------------------------------------

violations contains v if {
	applies
	input.kind == "KeycloakInstance"
	lib.field(lib.field(spec, "external", {}), "insecureSkipTLSVerify", false) == true
	v := {
		"code": "InstanceTlsVerificationDisabled",
		"message": concat("", [
			lib.subject,
			": spec.external.insecureSkipTLSVerify is true in production namespace \"",
			lib.str(input.namespace.name),
			"\", so the operator would send admin credentials to whoever answers at spec.external.url. Remove it and set spec.external.caSecretRef to a Secret holding the server's CA bundle.",
		]),
	}
}
