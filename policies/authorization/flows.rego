# Authentication flows may not run scripts. Keycloak deploys JavaScript authenticators as
# "script-<file>" providers (and older releases had the generic "auth-script-based"); a flow that
# runs one executes code chosen by whoever wrote the script inside the login of every user of the
# realm. The script comes from the Keycloak installation, but binding it into a flow is a decision
# for the Keycloak owners, not for a realm's namespace.
package kpo.policy.authorization

import data.kpo.lib

script_authenticator(id) if startswith(lower(id), "script-")

script_authenticator(id) if lower(id) == "auth-script-based"

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakRealm"
	some flow in lib.field(lib.spec, "authenticationFlows", [])
	some i, execution in lib.field(flow, "executions", [])
	authenticator := lib.str(lib.field(execution, "authenticator", ""))
	script_authenticator(authenticator)
	v := {
		"code": "ScriptAuthenticator",
		"message": concat("", [
			lib.subject,
			": spec.authenticationFlows[",
			lib.str(lib.field(flow, "alias", "")),
			"].executions[",
			lib.str(i),
			"] runs authenticator \"",
			authenticator,
			"\", a script, which would run code inside every login of the realm. Remove it and use Keycloak's built-in authenticators (conditions such as conditional-user-role cover most scripted checks).",
		]),
	}
}
