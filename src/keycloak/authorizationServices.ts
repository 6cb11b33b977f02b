// Authorization Services of a client (its resource server): settings, scopes, resources, policies
// and permissions, synced from spec.authorization with `syncCollection` descriptors, by name.
//
// Ownership. The resource server is part of the client, and the client sync has already checked
// that the client belongs to this CR (or was adopted), so the resource server belongs to it too:
// when spec.authorization is present, exactly the listed items exist, and Keycloak's own default
// resource, policy and permission (made when authorization is switched on) are removed. Resources
// also carry the owner marker in their attributes, which Keycloak shows in the console and which
// stops a sync from rewriting a resource another CR marked (only possible if someone copied it
// there); policies and permissions have no attributes in Keycloak, so they carry no marker and
// their owner is the client's.
//
// Reads: Keycloak's export of the resource server (`…/authz/resource-server/settings`) is the one
// source of the managed settings, in names rather than ids; the listings give the ids the writes
// need. Writes name roles, groups, clients, users, resources, scopes and policies by name, which
// Keycloak resolves; a name it cannot resolve is a 4xx with Keycloak's message. Order: settings,
// scopes, resources, checking policies, aggregate policies, permissions — each step only refers to
// what earlier steps made.
import type PolicyRepresentation from "@keycloak/keycloak-admin-client/lib/defs/policyRepresentation.js";
import type ResourceRepresentation from "@keycloak/keycloak-admin-client/lib/defs/resourceRepresentation.js";
import type ResourceServerRepresentation from "@keycloak/keycloak-admin-client/lib/defs/resourceServerRepresentation.js";
import type ScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/scopeRepresentation.js";
import {
  exportedFacts,
  sameFacts,
  type DesiredAuthorization,
  type DesiredPolicy,
  type DesiredResource,
  type ExportedPolicy,
  type ScopeSpec,
} from "../resources/authorizationRepresentation.js";
import { syncCollection, type AdminRequest, type Collection } from "./collection.js";
import { MissingReferenceError, OwnershipError } from "./errors.js";
import { findGroupByPath } from "./groupPaths.js";
import { itemMarker, itemOwnership, type Owner } from "./ownership.js";
import type { SyncSession } from "./session.js";

export type { DesiredAuthorization };

interface ClientRef {
  id: string;
  clientId: string;
}

/** Listings are paged by Keycloak; the CRD caps each list far below this. */
const LISTING_MAX = 10_000;

const permissionTypes = new Set(["resource", "scope"]);

/** An existing policy or permission: its id and type from the listing, its settings from the export. */
interface ActualPolicy {
  id: string;
  type: string;
  exported: ExportedPolicy;
}

export async function syncAuthorization(
  session: SyncSession,
  client: ClientRef,
  desired: DesiredAuthorization,
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const { id, clientId } = client;
  await checkRealmReferences(session, clientId, desired);
  const exported = await session.read(
    `read authorization settings of client "${clientId}" in realm "${realm}"`,
    (kc) => kc.clients.exportResource({ realm, id }),
  );
  await syncSettings(session, client, desired.settings, exported);
  await syncCollection(session, scopes(session, client), desired.scopes);
  await syncCollection(session, resources(session, client, owner), desired.resources);
  // One listing of policies and permissions for the three passes; each pass changes only its own.
  const listing = await listPolicies(session, client, exported);
  const passes: [PolicyPass["kind"], (type: string) => boolean, DesiredPolicy[]][] = [
    ["policy", (t) => !permissionTypes.has(t) && t !== "aggregate", desired.policies],
    ["policy", (t) => t === "aggregate", desired.aggregates],
    ["permission", (t) => permissionTypes.has(t), desired.permissions],
  ];
  for (const [kind, types, items] of passes) {
    const wantedElsewhere = new Set(
      passes.filter(([, , other]) => other !== items).flatMap(([, , other]) => other.map((p) => p.name)),
    );
    await syncCollection(
      session,
      policies(session, client, listing, { kind, types, wantedElsewhere }, items),
      items,
    );
  }
}

/**
 * Keycloak drops a group path or user it cannot find from a policy without a word (the policy then
 * never permits), so every realm object the policies name is looked up first: a missing one is a
 * clear error and nothing in the resource server is written.
 */
async function checkRealmReferences(
  session: SyncSession,
  clientId: string,
  desired: DesiredAuthorization,
): Promise<void> {
  const realm = session.realm;
  const missing: string[] = [];
  for (const policy of desired.policies) {
    const where = `spec.authorization.policies[${policy.name}]`;
    for (const role of (policy.body.roles as { id: string }[] | undefined) ?? []) {
      // Keycloak reads "<clientId>/<role>" at the first slash, else a realm role.
      const slash = role.id.indexOf("/");
      const found =
        slash < 0
          ? (await session.realmRoles()).has(role.id)
          : (await session.clientRoles(role.id.slice(0, slash))).has(role.id.slice(slash + 1));
      if (!found) missing.push(`${where} names role "${role.id}"`);
    }
    for (const group of (policy.body.groups as { path: string }[] | undefined) ?? []) {
      if (!(await findGroupByPath(session, group.path))) missing.push(`${where} names group "${group.path}"`);
    }
    for (const other of (policy.body.clients as string[] | undefined) ?? []) {
      if (other !== clientId && !(await session.client(other)))
        missing.push(`${where} names client "${other}"`);
    }
    for (const username of (policy.body.users as string[] | undefined) ?? []) {
      const users = await session.read(`find user "${username}" in realm "${realm}"`, (kc) =>
        kc.users.find({ realm, username, exact: true }),
      );
      if (!users.some((u) => u.username === username.toLowerCase()))
        missing.push(`${where} names user "${username}"`);
    }
  }
  if (missing.length > 0)
    throw new MissingReferenceError(
      `Client "${clientId}" in realm "${realm}": ${missing.join("; ")}, which does not exist in the realm; create it or remove it from the policy`,
    );
}

async function syncSettings(
  session: SyncSession,
  { id, clientId }: ClientRef,
  settings: DesiredAuthorization["settings"],
  actual: ResourceServerRepresentation,
): Promise<void> {
  const realm = session.realm;
  const differs = Object.entries(settings).some(
    ([key, value]) => (actual as Record<string, unknown>)[key] !== value,
  );
  if (!differs) return;
  const rep: ResourceServerRepresentation = {
    policyEnforcementMode: actual.policyEnforcementMode,
    decisionStrategy: actual.decisionStrategy,
    allowRemoteResourceManagement: actual.allowRemoteResourceManagement,
    ...settings,
  };
  await session.write(
    "PUT",
    "authorization",
    `update authorization settings of client "${clientId}" in realm "${realm}"`,
    (kc) => kc.clients.updateResourceServer({ realm, id }, rep),
  );
}

function scopes(
  session: SyncSession,
  { id, clientId }: ClientRef,
): Collection<ScopeSpec, ScopeRepresentation> {
  const realm = session.realm;
  const rep = (scope: ScopeSpec): ScopeRepresentation => ({
    name: scope.name,
    ...(scope.displayName === undefined ? {} : { displayName: scope.displayName }),
    ...(scope.iconUri === undefined ? {} : { iconUri: scope.iconUri }),
  });
  return {
    describe: (name) => `authorization scope "${name}" of client "${clientId}"`,
    field: (name) => `authorization.scope:${name}`,
    nameOf: (scope) => scope.name,
    list: async () => {
      const all = await session.read(`list authorization scopes of client "${clientId}"`, (kc) =>
        kc.clients.listAllScopes({ realm, id, first: 0, max: LISTING_MAX }),
      );
      return new Map(all.filter((s) => s.name && s.id).map((s) => [s.name ?? "", s]));
    },
    create: (scope) => (kc) => kc.clients.createAuthorizationScope({ realm, id }, rep(scope)),
    update: (scope, actual) => {
      const want = rep(scope);
      const same =
        (want.displayName ?? actual.displayName) === actual.displayName &&
        (want.iconUri ?? actual.iconUri) === actual.iconUri;
      if (same) return undefined;
      const scopeId = actual.id ?? "";
      return (kc) =>
        kc.clients.updateAuthorizationScope({ realm, id, scopeId }, { ...actual, ...want, id: scopeId });
    },
    remove: (_, actual) => {
      const scopeId = actual.id ?? "";
      return (kc) => kc.clients.delAuthorizationScope({ realm, id, scopeId });
    },
  };
}

const sortedNames = (values: readonly string[] | undefined) => [...new Set(values ?? [])].sort();

function resources(
  session: SyncSession,
  { id, clientId }: ClientRef,
  owner: Owner,
): Collection<DesiredResource, ResourceRepresentation> {
  const realm = session.realm;
  const attributesOf = (r: DesiredResource) => ({ ...r.attributes, ...itemMarker(owner) });
  const rep = (r: DesiredResource): ResourceRepresentation => ({
    name: r.name,
    ...(r.displayName === undefined ? {} : { displayName: r.displayName }),
    ...(r.type === undefined ? {} : { type: r.type }),
    ...(r.uris === undefined ? {} : { uris: r.uris }),
    ...(r.ownerManagedAccess === undefined ? {} : { ownerManagedAccess: r.ownerManagedAccess }),
    scopes: r.scopes.map((name) => ({ name })),
    attributes: attributesOf(r),
  });
  const matches = (r: DesiredResource, actual: ResourceRepresentation) =>
    (r.displayName ?? actual.displayName) === actual.displayName &&
    (r.type ?? actual.type) === actual.type &&
    (r.ownerManagedAccess ?? actual.ownerManagedAccess) === actual.ownerManagedAccess &&
    (r.uris === undefined || JSON.stringify(r.uris) === JSON.stringify(sortedNames(actual.uris))) &&
    JSON.stringify(r.scopes) ===
      JSON.stringify(sortedNames((actual.scopes ?? []).map((s) => s.name ?? ""))) &&
    JSON.stringify(sortedEntries(attributesOf(r))) === JSON.stringify(sortedEntries(actual.attributes ?? {}));
  return {
    describe: (name) => `authorization resource "${name}" of client "${clientId}"`,
    field: (name) => `authorization.resource:${name}`,
    nameOf: (r) => r.name,
    list: async () => {
      const all = await session.read(`list authorization resources of client "${clientId}"`, (kc) =>
        kc.clients.listResources({ realm, id, deep: true, first: 0, max: LISTING_MAX }),
      );
      return new Map(all.filter((r) => r.name && r._id).map((r) => [r.name ?? "", r]));
    },
    checkExisting: (name, actual) => {
      // Unmarked resources (Keycloak's default one, a hand-made one) are part of this CR's client.
      if (itemOwnership(actual.attributes, owner) === "another")
        throw new OwnershipError(
          `Authorization resource "${name}" of client "${clientId}" is marked as managed by another resource; it is left alone. Rename it in the spec`,
        );
    },
    create: (r) => (kc) => kc.clients.createResource({ realm, id }, rep(r)),
    update: (r, actual) => {
      if (matches(r, actual)) return undefined;
      const resourceId = actual._id ?? "";
      const body = { ...actual, ...rep(r), _id: resourceId };
      return (kc) => kc.clients.updateResource({ realm, id, resourceId }, body);
    },
    remove: (_, actual) => {
      const resourceId = actual._id ?? "";
      return (kc) => kc.clients.delResource({ realm, id, resourceId });
    },
  };
}

function sortedEntries(attributes: Record<string, unknown>): [string, string[]][] {
  return Object.entries(attributes)
    .map(([k, v]): [string, string[]] => [k, (Array.isArray(v) ? v.map(String) : [String(v)]).sort()])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Every policy and permission by name: id and type from the listing, settings from the export. */
async function listPolicies(
  session: SyncSession,
  { id, clientId }: ClientRef,
  exported: ResourceServerRepresentation,
): Promise<Map<string, ActualPolicy>> {
  const realm = session.realm;
  const listed = await session.read(`list authorization policies of client "${clientId}"`, (kc) =>
    kc.clients.listPolicies({ realm, id, first: 0, max: LISTING_MAX }),
  );
  const byName = new Map((exported.policies ?? []).map((p) => [p.name ?? "", p as ExportedPolicy]));
  const out = new Map<string, ActualPolicy>();
  for (const p of Array.isArray(listed) ? listed : []) {
    if (!p.id || !p.name) continue;
    out.set(p.name, { id: p.id, type: p.type ?? "", exported: byName.get(p.name) ?? { type: p.type } });
  }
  return out;
}

/** Which items one pass of the policy sync owns. */
interface PolicyPass {
  kind: "policy" | "permission";
  /** Existing items of these types belong to the pass (and are pruned by it when not wanted). */
  types: (type: string) => boolean;
  /** Names the other passes want: left to them even when of this pass's types. */
  wantedElsewhere: ReadonlySet<string>;
}

/**
 * Policies or permissions of one pass. An existing item whose name this pass wants but whose type
 * differs (a role policy that became an aggregate) is replaced: Keycloak cannot change a type.
 */
function policies(
  session: SyncSession,
  { id, clientId }: ClientRef,
  listing: ReadonlyMap<string, ActualPolicy>,
  pass: PolicyPass,
  desired: readonly DesiredPolicy[],
): Collection<DesiredPolicy, ActualPolicy> {
  const realm = session.realm;
  const { kind } = pass;
  const wantedHere = new Set(desired.map((p) => p.name));
  const create =
    (p: DesiredPolicy): AdminRequest =>
    (kc) =>
      kind === "permission"
        ? kc.clients.createPermission({ realm, id, type: p.type }, p.body)
        : kc.clients.createPolicy({ realm, id, type: p.type }, p.body);
  return {
    describe: (name) => `authorization ${kind} "${name}" of client "${clientId}"`,
    field: (name) => `authorization.${kind}:${name}`,
    nameOf: (p) => p.name,
    list: () =>
      Promise.resolve(
        new Map(
          [...listing].filter(
            ([name, p]) => wantedHere.has(name) || (pass.types(p.type) && !pass.wantedElsewhere.has(name)),
          ),
        ),
      ),
    create,
    update: (p, actual) => {
      if (actual.type !== p.type) {
        const make = create(p);
        return async (kc) => {
          await kc.clients.delPolicy({ realm, id, policyId: actual.id });
          return make(kc);
        };
      }
      if (sameFacts(p.facts, exportedFacts(actual.exported, p.facts))) return undefined;
      const body = {
        ...p.body,
        id: actual.id,
        description: p.body.description ?? actual.exported.description,
      } as PolicyRepresentation;
      return (kc) =>
        kind === "permission"
          ? kc.clients.updatePermission({ realm, id, type: p.type, permissionId: actual.id }, body)
          : kc.clients.updatePolicy({ realm, id, type: p.type, policyId: actual.id }, body);
    },
    remove: (_, actual) => (kc) => kc.clients.delPolicy({ realm, id, policyId: actual.id }),
  };
}
