// Quota counts without a scan. A quota counts the objects created before this one (createdBefore:
// creation time, then name) in its namespace or its realm; counted by filtering every cached
// object, each decision cost O(N) and a pass over N objects O(N²): 10,000 clients meant 10⁸
// comparisons per pass. Here each group (a kind in a namespace, clients of a realm) is kept sorted by
// that order as the caches change, and a count is a binary search.
import type { KeycloakResource } from "../api/index.js";
import { realmRefOf } from "../api/refs.js";
import { formatKey, objectKey } from "../kube/objectKey.js";

export type CountScope = "namespace" | "realm";

interface Entry {
  time: number;
  name: string;
  /** The object's key: two objects of a realm group may share time and name (other namespaces). */
  key: string;
}

function entryOf(obj: KeycloakResource): Entry {
  // As createdBefore reads it (the raw JSON holds a string; the generated type says Date).
  const time = new Date(obj.metadata.creationTimestamp ?? 0).getTime();
  return { time: Number.isNaN(time) ? 0 : time, name: obj.metadata.name ?? "", key: objectKey(obj) };
}

/** The order of createdBefore (src/policy/input.ts), made total by the key. */
function compare(a: Entry, b: Entry): number {
  if (a.time !== b.time) return a.time - b.time;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Index of the first entry not before `probe` by time and name (the count of those before it). */
function lowerBound(list: Entry[], probe: Entry, byKeyToo: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid]!;
    const before =
      e.time !== probe.time
        ? e.time < probe.time
        : e.name !== probe.name
          ? e.name < probe.name
          : byKeyToo && e.key < probe.key;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function groupKey(obj: KeycloakResource, scope: CountScope): string | undefined {
  if (scope === "namespace") return `${obj.kind}|ns|${obj.metadata.namespace ?? ""}`;
  // Only clients are counted per realm.
  return obj.kind === "KeycloakClient" ? `${obj.kind}|realm|${formatKey(realmRefOf(obj))}` : undefined;
}

function groupsOf(obj: KeycloakResource): string[] {
  return (["namespace", "realm"] as const).flatMap((s) => groupKey(obj, s) ?? []);
}

export class CreationOrder {
  readonly #groups = new Map<string, Entry[]>();

  add(obj: KeycloakResource): void {
    const entry = entryOf(obj);
    for (const g of groupsOf(obj)) {
      let list = this.#groups.get(g);
      if (!list) {
        list = [];
        this.#groups.set(g, list);
      }
      const at = lowerBound(list, entry, true);
      if (list[at] && compare(list[at], entry) === 0) continue;
      list.splice(at, 0, entry);
    }
  }

  remove(obj: KeycloakResource): void {
    const entry = entryOf(obj);
    for (const g of groupsOf(obj)) {
      const list = this.#groups.get(g);
      if (!list) continue;
      const at = lowerBound(list, entry, true);
      if (list[at] && compare(list[at], entry) === 0) list.splice(at, 1);
      if (list.length === 0) this.#groups.delete(g);
    }
  }

  /**
   * An update moves an object only when it changed group (a client pointed at another realm) or
   * creation time (deleted and created again between two lists: a relist sees an update).
   */
  update(old: KeycloakResource, obj: KeycloakResource): void {
    const before = groupsOf(old);
    const after = groupsOf(obj);
    const sameGroups = before.length === after.length && before.every((g, i) => g === after[i]);
    if (sameGroups && compare(entryOf(old), entryOf(obj)) === 0) return;
    this.remove(old);
    this.add(obj);
  }

  /** How many objects of obj's kind in its namespace (or its realm) were created before it. */
  countBefore(obj: KeycloakResource, scope: CountScope): number {
    const g = groupKey(obj, scope);
    const list = g === undefined ? undefined : this.#groups.get(g);
    return list ? lowerBound(list, entryOf(obj), false) : 0;
  }
}
