package kpo.policy.authorization_test

import data.kpo.policy.authorization

managed_instance(managed) := {
	"operation": "create",
	"kind": "KeycloakInstance",
	"resource": {"metadata": {"name": "kc", "namespace": "team-a"}, "spec": {"managed": managed}},
	"namespace": {"name": "team-a", "labels": {}},
	"target": {},
	"counts": {},
}

image_instance(image) := managed_instance({"image": image, "database": {"vendor": "dev-file"}})

image_codes(inp) := {v.code | some v in authorization.violations with input as inp; v.code == "InstanceImageNotAllowed"}

image_refused(image) if image_codes(image_instance(image)) == {"InstanceImageNotAllowed"}

image_accepted(image) if image_codes(image_instance(image)) == set()

test_images_from_the_default_registries_are_accepted if {
	image_accepted("quay.io/keycloak/keycloak:26.5.2")
	image_accepted("quay.io/keycloak/keycloak:26.5.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	image_accepted("kpo.local/keycloak-postgres:26.5.2")
}

test_unset_image_is_the_operators_default_and_accepted if {
	image_codes(managed_instance({"database": {"vendor": "dev-file"}})) == set()
}

test_unset_image_is_checked_like_any_other if {
	inp := managed_instance({"database": {"vendor": "dev-file"}})
	image_codes(inp) == {"InstanceImageNotAllowed"} with data.kpo.authorization.managedImageRegistries as ["registry.corp/"]
	some v in authorization.violations with input as inp with data.kpo.authorization.managedImageRegistries as ["registry.corp/"]
	v.code == "InstanceImageNotAllowed"
	contains(v.message, "the operator's default image \"quay.io/keycloak/keycloak:26.5.2\" (spec.managed.image is not set) is not from an allowed registry")
}

test_image_from_another_registry_is_refused if {
	inp := image_instance("docker.io/attacker/keycloak:26.5.2")
	image_codes(inp) == {"InstanceImageNotAllowed"}
	some v in authorization.violations with input as inp
	v.code == "InstanceImageNotAllowed"
	contains(v.message, "KeycloakInstance team-a/kc: spec.managed.image \"docker.io/attacker/keycloak:26.5.2\" is not from an allowed registry")
	contains(v.message, "one of \"quay.io/keycloak/\", \"kpo.local/\"")
	contains(v.message, "data.kpo.authorization.managedImageRegistries")
}

test_a_prefix_cannot_be_stretched if {
	image_refused("quay.io/keycloak.evil.com/keycloak:26.5.2")
	image_refused("quay.io/keycloak/../attacker/keycloak:1")
	image_refused("quay.io/keycloak//keycloak:1")
	image_refused("quay.io/keycloakx/keycloak:1")
	image_refused("quay.io/keycloak")
	image_refused("kpo.local.evil.com/keycloak:1")
	image_refused("kpo.local:5000/keycloak:1")
	image_refused(" quay.io/keycloak/keycloak:1")
	image_refused("quay.io/keycloak/keycloak:1\n")
	image_refused("QUAY.IO/keycloak/keycloak:1")
	image_refused("quay.io/keycloak/Keycloak:1")
	image_refused("")
	image_refused(42)
}

test_prefix_without_slash_is_compared_up_to_a_slash if {
	image_codes(image_instance("registry.corp:5000/keycloak:1")) == set() with data.kpo.authorization.managedImageRegistries as ["registry.corp:5000"]
	image_codes(image_instance("registry.corp:5000.evil.com/keycloak:1")) != set() with data.kpo.authorization.managedImageRegistries as ["registry.corp:5000"]
	image_codes(image_instance("quay.io/keycloak/keycloak:26.5.2")) == set() with data.kpo.authorization.managedImageRegistries as ["quay.io/keycloak/keycloak"]
	image_codes(image_instance("quay.io/keycloak/keycloak@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")) == set() with data.kpo.authorization.managedImageRegistries as ["quay.io/keycloak/keycloak"]
	image_codes(image_instance("quay.io/keycloak/keycloak-evil:1")) != set() with data.kpo.authorization.managedImageRegistries as ["quay.io/keycloak/keycloak"]
	image_codes(image_instance("keycloak:26.5.2")) == set() with data.kpo.authorization.managedImageRegistries as ["keycloak"]
}

test_data_replaces_the_list if {
	image_codes(image_instance("registry.corp/iam/keycloak:26.5.2")) == set() with data.kpo.authorization.managedImageRegistries as ["registry.corp/iam/"]
	image_codes(image_instance("quay.io/keycloak/keycloak:26.5.2")) != set() with data.kpo.authorization.managedImageRegistries as ["registry.corp/iam/"]
}

test_empty_list_refuses_every_image if {
	inp := image_instance("quay.io/keycloak/keycloak:26.5.2")
	some v in authorization.violations with input as inp with data.kpo.authorization.managedImageRegistries as []
	v.code == "InstanceImageNotAllowed"
	contains(v.message, "one of (none: the list is empty)")
}

test_image_is_checked_in_every_namespace_and_on_update if {
	prod := json.patch(image_instance("docker.io/attacker/keycloak:1"), [{"op": "replace", "path": "/namespace/labels", "value": {"kpo.dev/environment": "production"}}])
	image_codes(prod) == {"InstanceImageNotAllowed"}
	update := json.patch(image_instance("docker.io/attacker/keycloak:1"), [{"op": "replace", "path": "/operation", "value": "update"}])
	image_codes(update) == {"InstanceImageNotAllowed"}
}

test_image_is_not_checked_on_delete_or_for_external_instances if {
	delete := json.patch(image_instance("docker.io/attacker/keycloak:1"), [{"op": "replace", "path": "/operation", "value": "delete"}])
	image_codes(delete) == set()
	external := json.patch(image_instance("docker.io/attacker/keycloak:1"), [{"op": "replace", "path": "/resource/spec", "value": {"external": {"url": "https://kc.example.com"}}}])
	image_codes(external) == set()
}
