# LDAP user federation in production namespaces: the bind password and every user's password travel
# on the LDAP connection, so it must be encrypted (ldaps:// or StartTLS), and the bind credential
# may come only from a Secret reference (the CRD schema already refuses anything else; this rule
# holds for inputs that did not pass through it, such as `kpo policy eval` on a hand-written file).
package kpo.policy.production

import data.kpo.lib

ldap_providers := [p |
	some p in lib.field(lib.field(spec, "userFederation", {}), "ldap", [])
	is_object(p)
]

ldap_path(provider) := concat("", ["spec.userFederation.ldap[", lib.str(lib.field(provider, "name", "")), "]"])

# Every URL of a space-separated fail-over list must be ldaps:// unless StartTLS upgrades them all.
ldap_unencrypted_url(provider) := url if {
	lib.field(provider, "startTls", false) != true
	some url in split(trim_space(lib.str(lib.field(provider, "connectionUrl", ""))), " ")
	url != ""
	not startswith(lower(url), "ldaps://")
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	some provider in ldap_providers
	url := ldap_unencrypted_url(provider)
	path := ldap_path(provider)
	v := {
		"code": "LdapConnectionNotEncrypted",
		"message": concat("", [
			lib.subject,
			": ",
			path,
			".connectionUrl uses \"",
			url,
			"\" without StartTLS in production namespace \"",
			lib.str(input.namespace.name),
			"\", so the bind password and users' passwords would cross the network in clear. Use an ldaps:// URL or set ",
			path,
			".startTls: true.",
		]),
	}
}

violations contains v if {
	applies
	input.kind == "KeycloakRealm"
	some provider in ldap_providers
	ldap_inline_credential(provider)
	path := ldap_path(provider)
	v := {
		"code": "LdapBindCredentialNotFromSecret",
		"message": concat("", [
			lib.subject,
			": ",
			path,
			" sets the bind credential inline (bindCredential) or binds as bindDn without ",
			path,
			".bindCredentialRef in production namespace \"",
			lib.str(input.namespace.name),
			"\". Put the password in a Secret in this namespace, reference it with ",
			path,
			".bindCredentialRef {name, key}, and remove bindCredential.",
		]),
	}
}

ldap_inline_credential(provider) if _ = provider.bindCredential

ldap_inline_credential(provider) if {
	_ = provider.bindDn
	not is_object(lib.field(provider, "bindCredentialRef", null))
}
