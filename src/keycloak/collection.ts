// One mechanism for every Keycloak sub-collection (a realm's roles, a level of its groups, a
// client's roles, protocol mappers, client scopes): a collection is a small descriptor — how to list
// it, which existing items may be changed, how to create, update and delete one — and
// `syncCollection` does the rest the same way for all of them: items in name order, create what is
// missing, update what differs in the managed fields, then delete the extras the descriptor says are
// its own. Nothing is written when nothing differs, and every write goes through the SyncSession so
// it is counted and its field recorded. In the spirit of controller-runtime's CreateOrUpdate: a new
// collection is a descriptor, not a copy of the last sync loop.
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import { isSubsetEqual } from "./diff.js";
import { checkItemOwnership, itemMarker, itemOwnership, type Owner } from "./ownership.js";
import type { FieldChange } from "./plan.js";
import type { SyncSession } from "./session.js";

/** A request to Keycloak, run by the session (which counts it). */
export type AdminRequest<T = unknown> = (admin: KeycloakAdminClient) => Promise<T>;

export interface Collection<Desired, Actual, Created = unknown> {
  /** How an item is named in messages: `role "x" in realm "r"`. */
  describe(name: string): string;
  /** The field a write to the item records in `SyncResult.changedFields`: `role:x`, `group:/a/b`. */
  field(name: string): string;
  nameOf(desired: Desired): string;
  /** The existing items by name. */
  list(): Promise<Map<string, Actual>>;
  /**
   * `owned` (default): items are created (POST, a 409 retried as "appeared meanwhile") and deleted.
   * `linked`: items are realm objects linked to the parent (PUT) and unlinked (DELETE); links that
   * go are unlinked before new ones are added, so an interrupted sync leaves less, never more.
   */
  kind?: "owned" | "linked";
  /** Throws (an OwnershipError) when an existing item may not be changed by this sync. */
  checkExisting?(name: string, actual: Actual): void;
  /** May look things up first (a linked item's id); throws when the desired item cannot be made. */
  create(desired: Desired): AdminRequest<Created> | Promise<AdminRequest<Created>>;
  /** The request that brings `actual` to `desired`, or undefined when the managed fields match. */
  update?(desired: Desired, actual: Actual): AdminRequest | undefined;
  /** What an update changes, from what to what, for a plan to show (./plan.ts); secrets only as `secret`. */
  changes?(desired: Desired, actual: Actual): FieldChange[];
  /** The request deleting an item no longer desired, or undefined when it is not ours to delete. */
  remove(name: string, actual: Actual): AdminRequest | undefined;
  /** Runs after each desired item is in place (groups descend into their subgroups here). */
  placed?(desired: Desired, actual: Actual | undefined, created: Created | undefined): Promise<void>;
}

/** What a sync of one collection found and did, for steps that follow it (composites, mappings). */
export interface CollectionResult<Actual> {
  /** The items as listed before the sync. */
  before: Map<string, Actual>;
  /** Whether any item was created or deleted (caches of the collection are stale). */
  membershipChanged: boolean;
}

const byName = (a: string, b: string) => a.localeCompare(b);

export async function syncCollection<Desired, Actual, Created>(
  session: SyncSession,
  collection: Collection<Desired, Actual, Created>,
  desired: readonly Desired[],
): Promise<CollectionResult<Actual>> {
  const c = collection;
  const linked = c.kind === "linked";
  const before = await c.list();
  const sorted = [...desired].sort((a, b) => byName(c.nameOf(a), c.nameOf(b)));
  const wanted = new Set(sorted.map((d) => c.nameOf(d)));
  let membershipChanged = false;

  const prune = async () => {
    for (const [name, actual] of [...before].sort(([a], [b]) => byName(a, b))) {
      if (wanted.has(name)) continue;
      const request = c.remove(name, actual);
      if (!request) continue;
      const what = linked
        ? `remove ${c.describe(name)}`
        : `delete ${c.describe(name)} (no longer in the spec)`;
      await session.write("DELETE", c.field(name), what, request);
      membershipChanged = true;
    }
  };

  if (linked) await prune();
  for (const item of sorted) {
    const name = c.nameOf(item);
    const actual = before.get(name);
    let created: Created | undefined;
    if (actual === undefined) {
      const request = await c.create(item);
      created = linked
        ? await session.write("PUT", c.field(name), `add ${c.describe(name)}`, request)
        : await session.create(c.field(name), `create ${c.describe(name)}`, request);
      membershipChanged = true;
    } else {
      c.checkExisting?.(name, actual);
      const request = c.update?.(item, actual);
      if (request)
        await session.write(
          "PUT",
          c.field(name),
          `update ${c.describe(name)}`,
          request,
          undefined,
          // Only a plan shows them (./plan.ts): a reconcile does not compute them at all.
          session.conn.plan ? c.changes?.(item, actual) : undefined,
        );
    }
    await c.placed?.(item, actual, created);
  }
  if (!linked) await prune();
  return { before, membershipChanged };
}

/** Items by name (unnamed ones, which Keycloak does not make, are skipped). */
export function indexByName<T extends { name?: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.filter((i) => i.name).map((i) => [i.name ?? "", i]));
}

/** A role or group: a name, a description and attributes (string lists in Keycloak). */
export interface MarkedItem {
  name?: string;
  description?: string;
  // Keycloak's own representation types declare attributes as `any` maps.
  attributes?: Record<string, unknown>;
}

/**
 * What roles and groups share: description and attributes are managed, the owner's marker joins
 * the attributes, an existing item is changed only when it is ours (or unmarked, in an adopted
 * container), and only ours are deleted.
 */
export function markedItems(owner: Owner, adopt: boolean) {
  const attributesOf = (item: MarkedItem): Record<string, string[]> => {
    const result: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(item.attributes ?? {}))
      result[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    return { ...result, ...itemMarker(owner) };
  };
  return {
    /** The representation a create sends. */
    rep: (item: MarkedItem) => ({
      name: item.name ?? "",
      attributes: attributesOf(item),
      ...(item.description !== undefined ? { description: item.description } : {}),
    }),
    check: (what: string, actual: MarkedItem) => checkItemOwnership(what, actual.attributes, owner, adopt),
    /**
     * The full representation an update sends (a PUT replaces description and attributes, so
     * they are sent merged with what is there), or undefined when nothing managed differs.
     */
    update: (item: MarkedItem, actual: MarkedItem) => {
      const attributes = attributesOf(item);
      const descriptionDiffers = item.description !== undefined && item.description !== actual.description;
      if (!descriptionDiffers && isSubsetEqual(attributes, actual.attributes ?? {})) return undefined;
      // A description neither side has stays absent: "" would be a change a partial export shows.
      const description = item.description ?? actual.description;
      return {
        name: item.name ?? "",
        ...(description !== undefined ? { description } : {}),
        attributes: { ...(actual.attributes as Record<string, string[]> | undefined), ...attributes },
      };
    },
    ours: (actual: MarkedItem) => itemOwnership(actual.attributes, owner) === "ours",
  };
}
