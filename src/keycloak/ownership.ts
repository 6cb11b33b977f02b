// Ownership of Keycloak objects by custom resources. Each realm and client the operator manages
// carries the uid, namespace and name of its CR as attributes, so that (a) two CRs naming the same
// realm cannot fight over it, and (b) an existing realm or client created by hand is not taken
// over unless the CR says `adopt`.
import { loggerFor } from "../observability/logger.js";
import { OwnershipError } from "./errors.js";

const log = loggerFor("keycloak-ownership");

export const ownerUidAttribute = "kpo.dev/owner-uid";
export const ownerNamespaceAttribute = "kpo.dev/owner-namespace";
export const ownerNameAttribute = "kpo.dev/owner-name";

/**
 * Roles and groups the operator creates carry this marker (kept as it always was) together with
 * `kpo.dev/owner-uid`, the uid of the CR that created them, so that only that CR prunes them.
 */
export const managedAttribute = "kpo.dev/managed";

/** The custom resource a Keycloak object belongs to. */
export interface Owner {
  /** metadata.uid */
  uid: string;
  namespace: string;
  name: string;
  /** Kind, for messages: `KeycloakRealm`, `KeycloakClient`. */
  kind?: string;
}

export function ownerAttributes(owner: Owner): Record<string, string> {
  return {
    [ownerUidAttribute]: owner.uid,
    [ownerNamespaceAttribute]: owner.namespace,
    [ownerNameAttribute]: owner.name,
  };
}

/** Keycloak returns realm attributes as strings and client/group/role attributes as string lists. */
export function attributeValue(attributes: unknown, key: string): string | undefined {
  if (typeof attributes !== "object" || attributes === null) return undefined;
  const value = (attributes as Record<string, unknown>)[key];
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

export type OwnershipVerdict = "owned" | "adopt";

/** Is the object (by its attributes) owned by exactly this CR? */
export function isOwnedBy(attributes: unknown, owner: Owner): boolean {
  return attributeValue(attributes, ownerUidAttribute) === owner.uid && owner.uid !== "";
}

/**
 * Decides whether `owner` may manage an existing object whose attributes are `attributes`.
 * Returns "owned" (already ours), "adopt" (unowned and adoption requested), or throws an
 * OwnershipError saying what to do. The message never names the other owner: it is another
 * tenant's object, and who holds it is that tenant's business (the operator's log has it).
 */
export function checkOwnership(
  objectDescription: string,
  attributes: unknown,
  owner: Owner,
  adopt: boolean,
): OwnershipVerdict {
  const uid = attributeValue(attributes, ownerUidAttribute);
  const kind = owner.kind ?? "resource";
  if (uid === owner.uid && uid !== "") return "owned";
  if (uid !== undefined) {
    log.info(
      {
        object: objectDescription,
        owner: `${attributeValue(attributes, ownerNamespaceAttribute) ?? "?"}/${attributeValue(attributes, ownerNameAttribute) ?? "?"}`,
        ownerUid: uid,
        refused: `${owner.namespace}/${owner.name}`,
      },
      "refused to change an object another resource manages",
    );
    throw new OwnershipError(
      `${objectDescription} is managed by another resource; ${kind} ${owner.namespace}/${owner.name} will not change it. Choose another name`,
    );
  }
  if (adopt) return "adopt";
  throw new OwnershipError(
    `${objectDescription} already exists and was not created by this operator; ` +
      `${kind} ${owner.namespace}/${owner.name} will not take it over. Choose another name, or ask the owners of its ${kind === "KeycloakRealm" ? "KeycloakInstance" : "KeycloakRealm"} for an adoption grant (spec.adoptionGrants) and set spec.adopt: true`,
  );
}

/** The attributes that mark a role or group as created by `owner` (string lists, as Keycloak keeps them). */
export function itemMarker(owner: Owner): Record<string, string[]> {
  return { [managedAttribute]: ["true"], [ownerUidAttribute]: [owner.uid] };
}

/**
 * Whose is an existing role or group (inside a realm or client `owner` already holds)?
 *
 * Migration: before items named their owner they carried only `kpo.dev/managed: true`. Such a
 * legacy item sits in a realm or client that this CR owns (the sync checks that before it looks at
 * any item), and the operator only ever created items in a container on behalf of its owner, so it
 * counts as this CR's. Its next write names the owner: the first sync after the upgrade writes once
 * per listed legacy item to add the uid (unlisted ones are pruned as before), and from then on
 * another CR never prunes or changes it.
 */
export function itemOwnership(attributes: unknown, owner: Owner): "ours" | "unmarked" | "another" {
  const uid = attributeValue(attributes, ownerUidAttribute);
  if (uid !== undefined) return uid === owner.uid && uid !== "" ? "ours" : "another";
  return attributeValue(attributes, managedAttribute) === "true" ? "ours" : "unmarked";
}

/**
 * May the sync change an existing role or group? Its own, yes; one nobody marked only in a realm
 * or client this CR adopted; one another CR created never (as with realms and clients, the
 * message does not say which).
 */
export function checkItemOwnership(what: string, attributes: unknown, owner: Owner, adopt: boolean): void {
  const verdict = itemOwnership(attributes, owner);
  if (verdict === "ours" || (verdict === "unmarked" && adopt)) return;
  throw new OwnershipError(
    verdict === "another"
      ? `${what} is managed by another resource; it is left alone. Rename it in the spec, or remove it from the spec`
      : `${what} already exists and was not created by this operator; it is left alone. Rename it in the spec, or remove it from the spec`,
  );
}
