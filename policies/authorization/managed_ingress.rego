# The Ingress of a managed instance (spec.managed.ingress) is created by the operator, which may
# create Ingresses where whoever writes the instance may not. Its annotations are passed through, and
# ingress-nginx (and controllers modelled on it) read "*-snippet" annotations as raw configuration
# of the controller itself (server-snippet, configuration-snippet, auth-snippet, ...): a way to
# reach other tenants' traffic and the controller's credentials. They are refused in every namespace.
package kpo.policy.authorization

import data.kpo.lib

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakInstance"
	ingress := lib.field(lib.field(lib.spec, "managed", {}), "ingress", {})
	some key, _ in lib.field(ingress, "annotations", {})
	contains(lower(key), "snippet")
	v := {
		"code": "InstanceIngressSnippetNotAllowed",
		"message": concat("", [
			lib.subject,
			": spec.managed.ingress.annotations sets \"",
			key,
			"\", which an ingress controller reads as raw configuration of its own; the operator does not create it on your behalf. Remove the annotation (ask the platform team for the controller setting you need).",
		]),
	}
}
