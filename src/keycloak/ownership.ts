// Ownership of Keycloak objects by custom resources. Each realm and client the operator manages
// carries the uid, namespace and name of its CR as attributes, so that (a) two CRs naming the same
// realm cannot fight over it, and (b) an existing realm or client created by hand is not taken
// over unless the CR says `adopt`.
import { OwnershipError } from "./errors.js";

export const ownerUidAttribute = "kpo.dev/owner-uid";
export const ownerNamespaceAttribute = "kpo.dev/owner-namespace";
export const ownerNameAttribute = "kpo.dev/owner-name";

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

/**
 * Decides whether `owner` may manage an existing object whose attributes are `attributes`.
 * Returns "owned" (already ours), "adopt" (unowned and adoption requested), or throws an
 * OwnershipError saying who owns it and what to do.
 */
export function checkOwnership(
  objectDescription: string,
  attributes: unknown,
  owner: Owner,
  adopt: boolean,
): OwnershipVerdict {
  const uid = attributeValue(attributes, ownerUidAttribute);
  const kind = owner.kind ?? "resource";
  if (uid === owner.uid) return "owned";
  if (uid !== undefined) {
    const ns = attributeValue(attributes, ownerNamespaceAttribute) ?? "?";
    const name = attributeValue(attributes, ownerNameAttribute) ?? "?";
    throw new OwnershipError(
      `${objectDescription} is managed by another ${kind} (${ns}/${name}, uid ${uid}); ` +
        `${kind} ${owner.namespace}/${owner.name} will not change it. Use a different name, or delete the other ${kind}`,
    );
  }
  if (adopt) return "adopt";
  throw new OwnershipError(
    `${objectDescription} already exists and was not created by this operator; ` +
      `${kind} ${owner.namespace}/${owner.name} will not take it over. Set spec.adopt: true to manage it, or choose another name`,
  );
}
