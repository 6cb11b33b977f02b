// What queues which key, for each controller: a table of watches (source, predicate, map, reason)
// over the informer caches and the policy engine. Every trigger of every kind is here and nowhere
// else; startOperator only starts them. The rules behind the table:
// - an object's own spec or metadata change (not our status writes) reconciles it;
// - a dependent is re-checked when what it reads of what it waits for changes — usable or not, the
//   phase while not usable, the realm name (instance → its realms, realm → its clients and users) —
//   not on every status write of it; and a deletion that waits for referrers is re-checked when one goes
//   (realm → its instance, client and user → its realm);
// - policy facts that live elsewhere re-decide what reads them: a namespace's labels and
//   annotations, a quota shared by a namespace's realms, a client's roles named by other clients
//   (spec.roleGrants), and the policy bundle itself (every resource);
// - a credentials Secret edited or deleted by hand is restored by its client's reconcile;
// - a Secret a managed instance's pods read re-renders the instance when it changes.
import type { V1Namespace, V1Secret } from "@kubernetes/client-node";
import type { KeycloakClient, KeycloakRealm, KeycloakResource } from "../api/index.js";
import { instanceRefOf, realmRefOf } from "../api/refs.js";
import type { InformerEvent } from "../kube/informers.js";
import { formatKey, isKeyOf, keyOf, objectKeyOf, type ObjectKey } from "../kube/objectKey.js";
import { phaseHasTag } from "../lifecycle/phases.js";
import { watch, type BoundWatch, type EventSource } from "../kube/watches.js";
import { referencedSecretNames } from "../managed/render.js";
import { CLIENT_LABEL } from "./clientHandler.js";
import { namedClientIds, type Caches } from "./facts.js";

export interface WatchSources extends Caches {
  /**
   * The credentials Secrets the operator wrote (label managed-by), without the events of its own
   * writes (OwnWrites): what reaches the table is someone else's change.
   */
  credentialSecrets: EventSource<InformerEvent<V1Secret>>;
  /** The Secrets managed instances' pods read (label WATCHED_SECRET_LABEL), metadata only. */
  watchedSecrets: EventSource<InformerEvent<V1Secret>>;
  /** The policy engine: a new bundle or data revision. */
  policy: EventSource<string>;
}

export interface OperatorWatches {
  instance: BoundWatch[];
  realm: BoundWatch[];
  client: BoundWatch[];
  user: BoundWatch[];
}

/** Does this update matter to the object's own reconcile? Status-only writes (ours) do not. */
export function specOrMetaChanged(event: InformerEvent<KeycloakResource>): boolean {
  if (event.type !== "update" || !event.old) return true;
  const a = event.old.metadata;
  const b = event.object.metadata;
  return (
    a.generation !== b.generation ||
    String(a.deletionTimestamp ?? "") !== String(b.deletionTimestamp ?? "") ||
    JSON.stringify([a.labels, a.annotations]) !== JSON.stringify([b.labels, b.annotations]) ||
    // Finalizers matter only while deleting (ours is released last). Adding ours on the first
    // reconcile must not queue a second, redundant sync against a cache without its status.
    (b.deletionTimestamp !== undefined && JSON.stringify(a.finalizers) !== JSON.stringify(b.finalizers))
  );
}

/**
 * Did what a dependent reads of this object change: whether it is usable (the chart's
 * "usableDependency" tag: Ready, and Degraded, which worked and hit a transient error), its phase
 * while it is not (the waiting dependents' message names it), the realm name its status settled on,
 * or its spec or metadata? A flip between usable phases — a realm's resync that met a busy Keycloak
 * and recovered — is the operator's own status write with nothing in it for the dependents, and it
 * re-queued every client of the realm, twice.
 */
export function phaseChanged(event: InformerEvent<KeycloakResource>): boolean {
  if (event.type !== "update" || specOrMetaChanged(event)) return true;
  const phase = (o: KeycloakResource | undefined) => o?.status?.phase;
  const usable = (o: KeycloakResource | undefined) => phaseHasTag(phase(o), "usableDependency");
  const realmName = (o: KeycloakResource | undefined) =>
    (o?.status as { realmName?: unknown } | undefined)?.realmName;
  return (
    usable(event.old) !== usable(event.object) ||
    (!usable(event.object) && phase(event.old) !== phase(event.object)) ||
    realmName(event.old) !== realmName(event.object)
  );
}

const isDelete = (event: InformerEvent<unknown>): boolean => event.type === "delete";

/** A relist replays every object unchanged, which needs no reconcile. */
const resourceVersionChanged = (e: InformerEvent<V1Secret>): boolean =>
  !(e.type === "update" && e.old?.metadata?.resourceVersion === e.object.metadata?.resourceVersion);

function namespaceLabelsChanged(event: InformerEvent<V1Namespace>): boolean {
  const labels = (n: V1Namespace | undefined) =>
    JSON.stringify([n?.metadata?.labels, n?.metadata?.annotations]);
  return event.type !== "update" || labels(event.old) !== labels(event.object);
}

/** "was added", "changed", "was deleted": what happened to the object of an event. */
function happened(event: InformerEvent<unknown>): string {
  return event.type === "add" ? "was added" : event.type === "delete" ? "was deleted" : "changed";
}

const own = (kind: string) => (event: InformerEvent<KeycloakResource>) =>
  event.type === "update" ? `its spec or metadata changed` : `the ${kind} ${happened(event)}`;

/**
 * Which clients name a client's roles, by (realm, clientId): kept current from the clients' events,
 * so that a client's change finds the clients that name it without scanning (and parsing) every
 * client in the cache — which made each create cost O(N) and a whole create pass O(N²).
 */
export class NamedClientIndex {
  /** "realm key\0clientId" → the keys of the clients naming it. */
  readonly #naming = new Map<string, Map<string, ObjectKey>>();
  /** client key → the index entries it is in, to drop them on its next change. */
  readonly #entries = new Map<string, string[]>();

  constructor(source: EventSource<InformerEvent<KeycloakClient>> & { list(): KeycloakClient[] }) {
    for (const c of source.list()) this.#set(c);
    source.onChange((e) =>
      e.type === "delete" ? this.#drop(formatKey(keyOf(e.object))) : this.#set(e.object),
    );
  }

  /** The clients in `realm` whose spec names `clientId`'s roles. */
  naming(realm: ObjectKey, clientId: string): ObjectKey[] {
    return [...(this.#naming.get(`${formatKey(realm)}\0${clientId}`)?.values() ?? [])];
  }

  #set(client: KeycloakClient): void {
    const key = keyOf(client);
    const id = formatKey(key);
    this.#drop(id);
    const realm = formatKey(realmRefOf(client));
    const entries = [...namedClientIds(client.spec)].map((named) => `${realm}\0${named}`);
    if (entries.length === 0) return;
    this.#entries.set(id, entries);
    for (const entry of entries) {
      let keys = this.#naming.get(entry);
      if (!keys) this.#naming.set(entry, (keys = new Map<string, ObjectKey>()));
      keys.set(id, key);
    }
  }

  #drop(id: string): void {
    for (const entry of this.#entries.get(id) ?? []) {
      const keys = this.#naming.get(entry);
      keys?.delete(id);
      if (keys?.size === 0) this.#naming.delete(entry);
    }
    this.#entries.delete(id);
  }
}

export function operatorWatches(s: WatchSources): OperatorWatches {
  const namedBy = new NamedClientIndex(s.clients);
  const keys = (objects: readonly KeycloakResource[]): ObjectKey[] => objects.map(keyOf);
  const namespaceReason = (event: InformerEvent<V1Namespace>) =>
    `its namespace's labels or annotations ${event.type === "update" ? "changed" : happened(event)}`;
  const policyReason = (revision: string) => `the policy bundle changed (revision ${revision})`;

  /** What every kind watches: itself, its namespace's labels and annotations, the policy bundle. */
  const basics = <T extends KeycloakResource>(
    kind: T["kind"],
    source: EventSource<InformerEvent<T>> & { list(namespace?: string): T[] },
  ): BoundWatch[] => [
    watch<InformerEvent<T>>({
      source,
      predicate: specOrMetaChanged,
      map: (e) => [keyOf(e.object)],
      reason: own(kind),
    }),
    watch({
      source: s.namespaces,
      predicate: namespaceLabelsChanged,
      map: (e) => keys(source.list(e.object.metadata?.name ?? "")),
      reason: namespaceReason,
    }),
    watch({ source: s.policy, map: () => keys(source.list()), reason: policyReason }),
  ];
  /** A dependent waits for what it references: re-check it when that changes phase. */
  const dependencyChanged = <D extends KeycloakResource>(
    kind: D["kind"],
    source: EventSource<InformerEvent<D>>,
    dependents: (dependency: D) => readonly KeycloakResource[],
  ) =>
    watch<InformerEvent<D>>({
      source,
      predicate: phaseChanged,
      map: (e) => keys(dependents(e.object)),
      reason: (e) => `its ${kind} ${formatKey(keyOf(e.object))} ${happened(e)}`,
    });
  /** A deletion that waits for its referrers: re-check it when one goes. */
  const referrerDeleted = <R extends KeycloakResource>(
    kind: R["kind"],
    source: EventSource<InformerEvent<R>>,
    referenced: (referrer: R) => ObjectKey,
  ) =>
    watch<InformerEvent<R>>({
      source,
      predicate: isDelete,
      map: (e) => [referenced(e.object)],
      reason: (e) => `its ${kind} ${formatKey(keyOf(e.object))} was deleted`,
    });

  return {
    instance: [
      ...basics("KeycloakInstance", s.instances),
      referrerDeleted("KeycloakRealm", s.realms, instanceRefOf),
      // A rotated database, admin or TLS Secret re-renders the managed instances that read it (the
      // pod template's hash changes, so the pods roll).
      watch<InformerEvent<V1Secret>>({
        source: s.watchedSecrets,
        predicate: resourceVersionChanged,
        map: (e) =>
          keys(
            s.instances
              .list(e.object.metadata?.namespace)
              .filter((i) => referencedSecretNames(i).includes(e.object.metadata?.name ?? "")),
          ),
        reason: (e) => `Secret ${formatKey(keyOf(e.object))}, which its pods read, ${happened(e)}`,
      }),
    ],
    realm: [
      ...basics("KeycloakRealm", s.realms),
      dependencyChanged("KeycloakInstance", s.instances, (i) =>
        s.realms.list().filter((r) => isKeyOf(instanceRefOf(r), i)),
      ),
      // A realm that is gone or going may unblock the quota of its namespace's other realms.
      watch<InformerEvent<KeycloakRealm>>({
        source: s.realms,
        predicate: isDelete,
        map: (e) => keys(s.realms.list(e.object.metadata.namespace)),
        reason: (e) => `KeycloakRealm ${formatKey(keyOf(e.object))} in its namespace was deleted (quota)`,
      }),
      referrerDeleted("KeycloakClient", s.clients, realmRefOf),
      referrerDeleted("KeycloakUser", s.users, realmRefOf),
    ],
    client: [
      ...basics("KeycloakClient", s.clients),
      // Clients naming this client's roles are decided on its spec.roleGrants: re-decide them.
      watch<InformerEvent<KeycloakClient>>({
        source: s.clients,
        predicate: specOrMetaChanged,
        map: (e) => namedBy.naming(realmRefOf(e.object), e.object.spec.clientId),
        reason: (e) => `KeycloakClient ${formatKey(keyOf(e.object))}, whose roles it names, ${happened(e)}`,
      }),
      dependencyChanged("KeycloakRealm", s.realms, (r) =>
        s.clients.list().filter((c) => isKeyOf(realmRefOf(c), r)),
      ),
      watch<InformerEvent<V1Secret>>({
        source: s.credentialSecrets,
        predicate: resourceVersionChanged,
        map: (e) => {
          const client = e.object.metadata?.labels?.[CLIENT_LABEL];
          return client ? [objectKeyOf(e.object.metadata?.namespace ?? "", client)] : [];
        },
        reason: (e) => `its credentials Secret ${formatKey(keyOf(e.object))} ${happened(e)}`,
      }),
    ],
    user: [
      ...basics("KeycloakUser", s.users),
      // Its realm's phase, spec.userGrants and groups (whose roles members receive) decide it.
      dependencyChanged("KeycloakRealm", s.realms, (r) =>
        s.users.list().filter((u) => isKeyOf(realmRefOf(u), r)),
      ),
    ],
  };
}
