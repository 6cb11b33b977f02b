// The realm's default groups (every new user joins them): a linked collection of group paths. Each
// listed path must be a group the same spec defines — checked before the first write of a sync, and
// by the authorization policy, which expands those groups' role mappings like default roles (joining
// a group grants its roles and its parents' to every new user). A default group that is one of this
// resource's own groups and is no longer listed is unlinked; other default groups are left alone.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import { MissingReferenceError } from "./errors.js";
import { groupPaths, type NamedGroup } from "./groupPaths.js";
import { itemOwnership, type Owner } from "./ownership.js";
import type { SyncSession } from "./session.js";

/** A group the sync placed: its id and path (`/a/b`). */
export interface PlacedGroupRef {
  id: string;
  path: string;
}

/** Throws, naming the path and the fix, when a default group is not a group of the spec. */
export function checkDefaultGroups(
  realm: string,
  defaultGroups: readonly string[],
  groups: readonly NamedGroup[] | undefined,
): void {
  const known = new Set(groupPaths(groups));
  const missing = defaultGroups.filter((p) => !known.has(p));
  if (missing.length > 0) {
    throw new MissingReferenceError(
      `spec.defaultGroups of realm "${realm}" names ${missing.map((p) => `"${p}"`).join(", ")}, which ` +
        `${missing.length === 1 ? "is not a group" : "are not groups"} of spec.groups; add ` +
        `${missing.length === 1 ? "it" : "them"} to spec.groups or remove ${missing.length === 1 ? "it" : "them"} from spec.defaultGroups`,
    );
  }
}

export async function syncDefaultGroups(
  session: SyncSession,
  desired: readonly string[],
  placed: readonly PlacedGroupRef[],
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const idOf = new Map(placed.map((g) => [g.path, g.id]));
  const defaults: Collection<string, GroupRepresentation> = {
    kind: "linked",
    describe: (path) => `default group "${path}" of realm "${realm}"`,
    field: (path) => `defaultGroup:${path}`,
    nameOf: (path) => path,
    list: async () => {
      const listed = await session.read(`list the default groups of realm "${realm}"`, (kc) =>
        kc.realms.getDefaultGroups({ realm }),
      );
      const byPath = new Map<string, GroupRepresentation>();
      for (const group of listed) {
        if (!group.path || !group.id) continue;
        // The listing is brief; whose a group is shows in its attributes. Groups the spec placed
        // are ours by construction and need no read.
        const id = group.id;
        const full =
          idOf.get(group.path) === id
            ? group
            : await session.read(`read group "${group.path}" of realm "${realm}"`, (kc) =>
                kc.groups.findOne({ realm, id }),
              );
        byPath.set(group.path, { ...group, attributes: full?.attributes ?? group.attributes });
      }
      return byPath;
    },
    create: (path) => {
      const id = idOf.get(path);
      if (id === undefined) {
        throw new MissingReferenceError(
          `spec.defaultGroups of realm "${realm}" names "${path}", which is not a group of spec.groups; add it to spec.groups or remove it from spec.defaultGroups`,
        );
      }
      return (kc) => kc.realms.addDefaultGroup({ realm, id });
    },
    remove: (path, actual) => {
      const id = actual.id ?? "";
      const ours = idOf.get(path) === id || itemOwnership(actual.attributes, owner) === "ours";
      return ours ? (kc) => kc.realms.removeDefaultGroup({ realm, id }) : undefined;
    },
  };
  await syncCollection(session, defaults, desired);
}
