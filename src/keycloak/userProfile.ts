// The realm's declarative user profile (/admin/realms/{realm}/users/profile, Keycloak's UPConfig):
// one document whose PUT replaces it whole. Attribute and group definitions are merged into it by
// name — a listed one replaces Keycloak's definition of that name, one this resource added and no
// longer lists is dropped (its annotation `kpo.dev/owner-uid` says whose it is), all others (username,
// email, people's own) are kept in Keycloak's order. The document is written only when the merged one
// differs from Keycloak's after normalisation (Keycloak fills in defaults such as `multivalued: false`).
import type {
  UserProfileAttribute,
  UserProfileConfig,
  UserProfileGroup,
} from "@keycloak/keycloak-admin-client/lib/defs/userProfileMetadata.js";
import type { Owner } from "./ownership.js";
import type { SyncSession } from "./session.js";

/** The annotation marking the attribute and group definitions a resource added. */
export const userProfileOwnerAnnotation = "kpo.dev/owner-uid";

export interface DesiredUserProfile {
  unmanagedAttributePolicy?: string;
  attributes?: UserProfileAttribute[];
  groups?: UserProfileGroup[];
}

type Named = { name?: string; annotations?: Record<string, unknown> };

function mergeByName<T extends Named>(
  wanted: readonly T[] | undefined,
  have: readonly T[],
  owner: Owner,
): T[] {
  if (wanted === undefined) return [...have];
  const marked = new Map(
    wanted.map((w) => [
      w.name,
      { ...w, annotations: { ...w.annotations, [userProfileOwnerAnnotation]: owner.uid } },
    ]),
  );
  const ours = (item: T) => item.annotations?.[userProfileOwnerAnnotation] === owner.uid;
  const merged: T[] = [];
  for (const item of have) {
    const replacement = marked.get(item.name);
    if (replacement) {
      merged.push(replacement);
      marked.delete(item.name);
    } else if (!ours(item)) merged.push(item);
  }
  return [...merged, ...marked.values()];
}

/** The document to write: Keycloak's, with the desired definitions merged in. */
export function mergedUserProfile(
  desired: DesiredUserProfile,
  actual: UserProfileConfig,
  owner: Owner,
): UserProfileConfig {
  return {
    ...actual,
    attributes: mergeByName(desired.attributes, actual.attributes ?? [], owner),
    groups: mergeByName(desired.groups, actual.groups ?? [], owner),
    ...(desired.unmanagedAttributePolicy !== undefined
      ? {
          unmanagedAttributePolicy:
            desired.unmanagedAttributePolicy as UserProfileConfig["unmanagedAttributePolicy"],
        }
      : {}),
  };
}

/**
 * A comparable form: scalars as strings, empty lists, empty objects, false and null dropped, keys
 * sorted — what Keycloak adds as defaults or renders differently does not count as a difference.
 */
export function normalisedProfile(value: unknown): unknown {
  if (value === null || value === undefined || value === false) return undefined;
  if (Array.isArray(value)) {
    const items = value.map(normalisedProfile).filter((v) => v !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, normalisedProfile(v)] as const)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
}

export async function syncUserProfile(
  session: SyncSession,
  desired: DesiredUserProfile,
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const actual = await session.read(`read the user profile of realm "${realm}"`, (kc) =>
    kc.users.getProfile({ realm }),
  );
  const merged = mergedUserProfile(desired, actual, owner);
  if (JSON.stringify(normalisedProfile(merged)) === JSON.stringify(normalisedProfile(actual))) return;
  await session.write("PUT", "userProfile", `update the user profile of realm "${realm}"`, (kc) =>
    kc.users.updateProfile({ realm, ...merged }),
  );
}
