package kpo.policy.authorization_test

import data.kpo.policy.authorization

realm_spec_input(ns, spec, inst) := {
	"operation": "create",
	"kind": "KeycloakRealm",
	"resource": {"metadata": {"name": "r", "namespace": ns}, "spec": object.union({"instanceRef": {"name": "kc", "namespace": "iam"}}, spec)},
	"namespace": {"name": ns, "labels": {}},
	"target": {"instance": inst},
	"counts": {},
}

client_spec_input(ns, spec, realm_obj) := {
	"operation": "create",
	"kind": "KeycloakClient",
	"resource": {"metadata": {"name": "web", "namespace": ns}, "spec": object.union({"clientId": "web", "realmRef": {"name": "shop", "namespace": "platform"}}, spec)},
	"namespace": {"name": ns, "labels": {}},
	"target": {"realm": realm_obj},
	"counts": {},
}

with_instance_spec(extra) := json.patch(instance, [{"op": "add", "path": "/spec", "value": object.union(instance.spec, extra)}])

with_realm_spec(extra) := json.patch(realm, [{"op": "add", "path": "/spec", "value": object.union(realm.spec, extra)}])

test_master_realm_is_refused_even_with_adopt if {
	codes(realm_spec_input("team-a", {"realmName": "master"}, instance)) == {"ReservedRealm"}
	codes(realm_spec_input("team-a", {"realmName": "master", "adopt": true}, instance)) == {"ReservedRealm", "AdoptionNotGranted"}
	codes(realm_spec_input("team-a", {"realmName": "Master"}, instance)) == {"ReservedRealm"}
	some v in authorization.violations with input as realm_spec_input("team-a", {"realmName": "master"}, instance)
	contains(v.message, "spec.masterRealmGrant.namespace")
}

test_master_realm_granted_to_one_namespace_only if {
	inst := with_instance_spec({"masterRealmGrant": {"namespace": "team-a"}})
	codes(realm_spec_input("team-a", {"realmName": "master", "adopt": true}, inst)) == set()
	codes(realm_spec_input("iam", {"realmName": "master", "adopt": true}, inst)) == {"ReservedRealm", "AdoptionNotGranted"}
}

test_builtin_roles_cannot_be_defined if {
	every name in ["default-roles-shop", "offline_access", "uma_authorization", "DEFAULT-ROLES-other"] {
		codes(realm_spec_input("team-a", {"realmName": "shop", "roles": [{"name": name}]}, instance)) == {"ReservedRole"}
	}
	some v in authorization.violations with input as realm_spec_input("team-a", {"realmName": "shop", "roles": [{"name": "default-roles-shop"}]}, instance)
	contains(v.message, "spec.defaultRoles")
}

test_admin_is_reserved_only_in_master if {
	codes(realm_spec_input("team-a", {"realmName": "shop", "roles": [{"name": "admin"}, {"name": "create-realm"}]}, instance)) == set()
	inst := with_instance_spec({"masterRealmGrant": {"namespace": "team-a"}})
	codes(realm_spec_input("team-a", {"realmName": "master", "roles": [{"name": "admin"}]}, inst)) == {"ReservedRole"}
}

test_data_can_reserve_more_roles_and_clients if {
	codes(realm_spec_input("team-a", {"realmName": "shop", "roles": [{"name": "ops"}]}, instance)) == {"ReservedRole"} with data.kpo.authorization.reservedRoles as ["ops"]
	codes(client_spec_input("team-a", {"clientId": "gateway"}, realm)) == {"ReservedClient"} with data.kpo.authorization.reservedClients as ["gateway"]
}

test_builtin_clients_cannot_be_managed_or_adopted if {
	every id in ["realm-management", "admin-cli", "security-admin-console", "broker", "account", "account-console"] {
		codes(client_spec_input("team-a", {"clientId": id}, realm)) == {"ReservedClient"}
		codes(client_spec_input("team-a", {"clientId": id, "adopt": true}, with_realm_spec({"adoptionGrants": [{"namespaces": ["team-a"], "clientIds": [id]}]}))) == {"ReservedClient"}
	}
}

test_realm_clients_of_master_are_reserved if {
	master := with_realm_spec({"realmName": "master"})
	codes(client_spec_input("team-a", {"clientId": "shop-realm"}, master)) == {"ReservedClient"}
	codes(client_spec_input("team-a", {"clientId": "shop-realm"}, realm)) == set()
}

test_adopting_a_realm_needs_a_grant_naming_namespace_and_realm if {
	spec := {"realmName": "legacy", "adopt": true}
	codes(realm_spec_input("team-a", spec, instance)) == {"AdoptionNotGranted"}
	codes(realm_spec_input("team-a", spec, with_instance_spec({"adoptionGrants": [{"namespaces": ["team-a"], "realmNames": ["legacy"]}]}))) == set()
	codes(realm_spec_input("team-a", spec, with_instance_spec({"adoptionGrants": [{"namespaces": ["team-b"], "realmNames": ["legacy"]}]}))) == {"AdoptionNotGranted"}
	codes(realm_spec_input("team-a", spec, with_instance_spec({"adoptionGrants": [{"namespaces": ["team-a"], "realmNames": ["other"]}]}))) == {"AdoptionNotGranted"}
	some v in authorization.violations with input as realm_spec_input("team-a", spec, instance)
	contains(v.message, "realmNames: [\"legacy\"]")
}

test_adopting_a_client_needs_a_grant_from_the_realm if {
	spec := {"clientId": "legacy-app", "adopt": true}
	codes(client_spec_input("team-a", spec, realm)) == {"AdoptionNotGranted"}
	codes(client_spec_input("team-a", spec, with_realm_spec({"adoptionGrants": [{"namespaces": ["team-a"], "clientIds": ["legacy-app"]}]}))) == set()
	codes(client_spec_input("team-a", spec, with_realm_spec({"adoptionGrants": [{"namespaces": ["team-a"], "clientIds": ["web"]}]}))) == {"AdoptionNotGranted"}
	codes(client_spec_input("team-a", {"clientId": "legacy-app", "adopt": false}, realm)) == set()
}

mapper(type, config) := {"protocolMappers": [{"name": "m", "protocolMapper": type, "config": config}]}

test_standard_mappers_allowed if {
	codes(client_spec_input("team-a", mapper("oidc-usermodel-attribute-mapper", {"claim.name": "department"}), realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-audience-mapper", {"included.client.audience": "web"}), realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-usermodel-client-role-mapper", {"claim.name": "resource_access.${client_id}.roles"}), realm)) == set()
}

test_unknown_mapper_types_refused_unless_data_allows if {
	codes(client_spec_input("team-a", mapper("script-evil.js", {}), realm)) == {"ProtocolMapperNotAllowed"}
	codes(client_spec_input("team-a", mapper("script-evil.js", {}), realm)) == set() with data.kpo.authorization.allowedProtocolMappers as ["script-evil.js"]
}

test_forged_identity_and_role_claims_refused if {
	every claim in ["resource_access.billing.roles", "realm_access", "sub", "aud", "Preferred_Username", "azp"] {
		codes(client_spec_input("team-a", mapper("oidc-hardcoded-claim-mapper", {"claim.name": claim, "claim.value": "x"}), realm)) == {"ReservedClaim"}
	}
	codes(client_spec_input("team-a", mapper("oidc-usermodel-attribute-mapper", {"claim.name": "realm_access.roles"}), realm)) == {"ReservedClaim"}
	codes(client_spec_input("team-a", mapper("oidc-usermodel-realm-role-mapper", {"claim.name": "resource_access.billing.roles"}), realm)) == {"ReservedClaim"}
	codes(client_spec_input("team-a", mapper("oidc-usermodel-client-role-mapper", {"claim.name": "resource_access.billing.roles"}), realm)) == {"ReservedClaim"}
	codes(client_spec_input("team-a", mapper("oidc-usermodel-property-mapper", {"user.attribute": "firstName", "claim.name": "preferred_username"}), realm)) == {"ReservedClaim"}
	codes(client_spec_input("team-a", mapper("oidc-usermodel-property-mapper", {"user.attribute": "username", "claim.name": "preferred_username"}), realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-usermodel-realm-role-mapper", {"claim.name": "realm_access.roles"}), realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-hardcoded-claim-mapper", {"claim.name": "tier", "claim.value": "gold"}), realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-hardcoded-claim-mapper", {"claim.name": "x"}), realm)) == set() with data.kpo.authorization.reservedClaims as ["y"]
	codes(client_spec_input("team-a", mapper("oidc-hardcoded-claim-mapper", {"claim.name": "tenant"}), realm)) == {"ReservedClaim"} with data.kpo.authorization.reservedClaims as ["tenant"]
}

test_hardcoded_roles_only_of_the_clients_own_roles if {
	own := object.union(mapper("oidc-hardcoded-role-mapper", {"role": "web.reader"}), {"roles": [{"name": "reader"}]})
	codes(client_spec_input("team-a", own, realm)) == set()
	codes(client_spec_input("team-a", mapper("oidc-hardcoded-role-mapper", {"role": "billing.admin"}), realm)) == {"ForeignHardcodedRole"}
	codes(client_spec_input("team-a", mapper("oidc-hardcoded-role-mapper", {"role": "ops"}), realm)) == {"ForeignHardcodedRole"}
}

owned_client(ns, grants) := {"clientId": "payments", "metadata": {"name": "payments", "namespace": ns}, "spec": {"roleGrants": grants}}

with_clients(inp, clients) := json.patch(inp, [{"op": "add", "path": "/target/clients", "value": clients}])

test_another_namespaces_client_roles_need_its_role_grant if {
	inp := client_spec_input("team-a", {"serviceAccount": {"clientRoles": {"payments": ["admin"]}}}, realm)
	codes(with_clients(inp, [owned_client("team-b", {})])) == {"ForeignClientRole"}
	codes(with_clients(inp, [owned_client("team-b", {"namespaces": ["team-a"]})])) == set()
	codes(with_clients(inp, [owned_client("team-b", {"namespaceSelector": {"matchLabels": {"tier": "gold"}}})])) == {"ForeignClientRole"}
	codes(with_clients(inp, [owned_client("team-a", {})])) == set()
	codes(inp) == set()
	some v in authorization.violations with input as with_clients(inp, [owned_client("team-b", {})])
	not contains(v.message, "team-b")
	contains(v.message, "spec.roleGrants")
}

test_saml_mappers_are_allowed_and_a_saml_hardcoded_role_only_of_the_clients_own_roles if {
	every type in ["saml-role-list-mapper", "saml-user-attribute-mapper", "saml-hardcode-attribute-mapper"] {
		codes(client_spec_input("team-a", mapper(type, {"attribute.name": "dept"}), realm)) == set()
	}
	own := object.union(mapper("saml-hardcode-role-mapper", {"role": "web.reader"}), {"roles": [{"name": "reader"}]})
	codes(client_spec_input("team-a", own, realm)) == set()
	codes(client_spec_input("team-a", mapper("saml-hardcode-role-mapper", {"role": "realm-management.realm-admin"}), realm)) == {"ForeignHardcodedRole"}
	some v in authorization.violations with input as client_spec_input("team-a", mapper("saml-hardcode-role-mapper", {"role": "ops"}), realm)
	contains(v.message, "spec.protocolMappers[m] puts role \"ops\" in every token (or SAML assertion)")
}
