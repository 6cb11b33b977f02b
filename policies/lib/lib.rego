# Helpers shared by the policy packages: Kubernetes label-selector semantics, object naming and
# reading optional fields without turning a missing field into an undefined (silently passing) rule.
package kpo.lib

# Kubernetes semantics: every matchLabels pair and every matchExpressions entry must hold; an empty
# selector ({}) matches every namespace, exactly like a NetworkPolicy namespaceSelector.
selector_matches(selector, labels) if {
	is_object(selector)
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expression in object.get(selector, "matchExpressions", []) {
		expression_matches(expression, labels)
	}
}

expression_matches(expression, labels) if {
	expression.operator == "In"
	labels[expression.key] in expression.values
}

expression_matches(expression, labels) if {
	expression.operator == "NotIn"
	not label_in(labels, expression.key, expression.values)
}

# A helper, because in `not labels[k] in values` the ref is evaluated outside the negation and an
# absent label would make the whole rule undefined instead of true.
label_in(labels, key, values) if labels[key] in values

expression_matches(expression, labels) if {
	expression.operator == "Exists"
	labels[expression.key]
}

expression_matches(expression, labels) if {
	expression.operator == "DoesNotExist"
	not labels[expression.key]
}

# A grant ({namespaces: [...], namespaceSelector: {...}}) on an owner object admits a namespace when
# the namespace is the owner's own, is listed by name, or matches the selector.
namespace_granted(owner, _, namespace) if owner.metadata.namespace == namespace.name

namespace_granted(_, grants, namespace) if {
	is_object(grants)
	some name in object.get(grants, "namespaces", [])
	name == namespace.name
}

namespace_granted(_, grants, namespace) if {
	is_object(grants)
	selector_matches(grants.namespaceSelector, labels(namespace))
}

labels(namespace) := namespace.labels if is_object(namespace.labels)

else := {}

annotations(namespace) := namespace.annotations if is_object(namespace.annotations)

else := {}

# "KeycloakRealm team-a/shop": the object as `kubectl get` names it, used to start every message.
subject := concat("", [str(input.kind), " ", str(input.resource.metadata.namespace), "/", str(input.resource.metadata.name)])

ref(obj) := concat("", [str(obj.metadata.namespace), "/", str(obj.metadata.name)])

spec := input.resource.spec if is_object(input.resource.spec)

else := {}

# field(obj, key, fallback): obj[key], or fallback when obj is not an object or lacks the key.
field(obj, key, fallback) := object.get(obj, key, fallback) if is_object(obj)

else := fallback

# Create and update are governed; delete never is, so an object can always be cleaned up.
governed_operation if input.operation == "create"

governed_operation if input.operation == "update"

# Messages are built with concat, not sprintf: opa-wasm runs sprintf in JavaScript (a costly call out
# of wasm, and without Go's %q), while concat and format_int run natively.
str(x) := x if is_string(x)

else := format_int(x, 10) if is_number(x)

else := json.marshal(x)
