# The image of a managed instance (spec.managed.image) is the code the operator runs with the
# bootstrap admin password and the database credentials in its environment. Whoever may create a
# KeycloakInstance in a namespace would otherwise choose that code, so in every namespace the image
# must come from a registry or repository the security team lists in
# data.kpo.authorization.managedImageRegistries. Without spec.managed.image the operator runs its
# default image, which is checked like any other.
package kpo.policy.authorization

import data.kpo.lib

# What src/managed/render.ts runs (and the CRD fills in) when spec.managed.image is unset.
default_managed_image := "quay.io/keycloak/keycloak:26.5.2"

default managed_image_registries := ["quay.io/keycloak/", "kpo.local/"]

managed_image_registries := data.kpo.authorization.managedImageRegistries

managed_image := lib.field(lib.field(lib.spec, "managed", {}), "image", default_managed_image)

violations contains v if {
	lib.governed_operation
	input.kind == "KeycloakInstance"
	is_object(lib.spec.managed)
	not image_allowed(managed_image)
	v := {
		"code": "InstanceImageNotAllowed",
		"message": concat("", [
			lib.subject,
			": ",
			managed_image_text,
			" is not from an allowed registry; the image runs with the instance's admin and database credentials. Use an image below one of ",
			registries_text,
			", or ask the security team to add its registry to data.kpo.authorization.managedImageRegistries.",
		]),
	}
}

managed_image_text := concat("", ["spec.managed.image \"", lib.str(managed_image), "\""]) if {
	_ = lib.spec.managed.image
}

else := concat("", ["the operator's default image \"", default_managed_image, "\" (spec.managed.image is not set)"])

registries_text := concat(", ", [concat("", ["\"", lib.str(r), "\""]) | some r in managed_image_registries]) if {
	count(managed_image_registries) > 0
}

else := "(none: the list is empty)"

# Matched on the reference as written, after it has been checked to be a well-formed image
# reference: a well-formed one has no "..", no empty path segment and no whitespace, so a prefix
# cannot be stretched ("quay.io/keycloak.evil.com/x", "quay.io/keycloak/../x").
image_allowed(image) if {
	image_reference(image)
	some prefix in managed_image_registries
	image_below(image, prefix)
}

# "quay.io/keycloak/" admits everything below that path.
image_below(image, prefix) if {
	endswith(prefix, "/")
	startswith(image, prefix)
}

# "quay.io/keycloak" or "registry.corp:5000" is compared up to a "/": the repository itself, or
# anything below it; never "quay.io/keycloak-evil/x" or "registry.corp:5000.evil.com/x".
image_below(image, prefix) if {
	not endswith(prefix, "/")
	startswith(image, concat("", [prefix, "/"]))
}

image_below(image, prefix) if {
	not endswith(prefix, "/")
	image_repository(image) == prefix
}

# The repository: the reference without its digest and without the tag of its last segment.
image_repository(image) := concat("/", array.concat(
	array.slice(segments, 0, count(segments) - 1),
	[split(segments[count(segments) - 1], ":")[0]],
)) if {
	segments := split(split(image, "@")[0], "/")
}

# The grammar of github.com/distribution/reference: [host[:port]/]path[:tag][@digest], with lower-case
# path components separated by one ".", "_", "__" or dashes.
image_reference(image) if {
	is_string(image)
	regex.match(`^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`, image)
}
