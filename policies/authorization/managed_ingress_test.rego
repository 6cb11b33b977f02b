package kpo.policy.authorization_test

import data.kpo.policy.authorization

ingress_instance(annotations) := managed_instance({
	"database": {"vendor": "dev-file"},
	"ingress": {"enabled": true, "host": "sso.example.test", "annotations": annotations},
})

snippet_violations(inp) := {v | some v in authorization.violations with input as inp; v.code == "InstanceIngressSnippetNotAllowed"}

test_ingress_snippet_annotations_are_refused if {
	every key in [
		"nginx.ingress.kubernetes.io/server-snippet",
		"nginx.ingress.kubernetes.io/configuration-snippet",
		"nginx.ingress.kubernetes.io/Auth-Snippet",
	] {
		vs := snippet_violations(ingress_instance({key: "return 200;"}))
		count(vs) == 1
		some v in vs
		contains(v.message, sprintf("spec.managed.ingress.annotations sets \"%s\"", [key]))
	}
}

test_ingress_snippets_are_refused_one_by_one if {
	count(snippet_violations(ingress_instance({
		"nginx.ingress.kubernetes.io/server-snippet": "x",
		"nginx.ingress.kubernetes.io/configuration-snippet": "y",
	}))) == 2
}

test_other_ingress_annotations_are_accepted if {
	snippet_violations(ingress_instance({
		"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
		"cert-manager.io/cluster-issuer": "letsencrypt",
	})) == set()
	snippet_violations(managed_instance({"database": {"vendor": "dev-file"}})) == set()
}
