// A realm's client scopes, their protocol mappers and role scope mappings, and the realm's default
// and optional scope links, each synced as a collection (src/keycloak/collection.ts).
//
// Ownership: a scope the operator creates carries the owner marker in its attributes (client scope
// attributes are plain strings); only those are changed or deleted, Keycloak's built-in scopes
// never. The realm's default/optional links are realm-wide settings people also change in the
// console, so the operator removes only links it added itself, remembered in a realm attribute
// that is widened before links are added and narrowed after (as the default roles are).
//
// Order: unwanted links go first (a scope may move from optional to default, and Keycloak refuses a
// scope linked both ways; a scope about to be deleted is no longer linked), then the scopes, then the
// new links, which may name scopes created just before.
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import { indexByName, syncCollection, type AdminRequest, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";
import { MissingReferenceError, OwnershipError } from "./errors.js";
import {
  attributeValue,
  checkItemOwnership,
  itemOwnership,
  managedAttribute,
  ownerUidAttribute,
  type Owner,
} from "./ownership.js";
import { protocolMapperCollection } from "./protocolMappers.js";
import {
  heldOfMappings,
  parseRecordedKeys,
  parseRoleKey,
  reconcileRoleRefs,
  resolveRoleKeys,
  roleKeysOf,
} from "./roleReferences.js";
import type { SyncSession } from "./session.js";

export type { ClientScopeRepresentation };

export interface DesiredClientScope {
  name: string;
  description?: string;
  protocol: "openid-connect" | "saml";
  /** Managed attributes (merged with what is there); the owner marker is added by the sync. */
  attributes: Record<string, string>;
  /** Exactly these mappers (by name) when present. */
  protocolMappers?: ProtocolMapperRepresentation[];
  /** Realm roles (when `realm` is present) and each listed client's roles, exactly. */
  scopeMappings?: { realm?: string[]; client?: Record<string, string[]> };
}

export interface DesiredClientScopes {
  /** The realm's own scopes. Undefined: scopes are not managed. */
  scopes?: DesiredClientScope[];
  /** The realm's default default scopes, by name. Undefined: not managed. */
  defaultScopes?: string[];
  /** The realm's default optional scopes, by name. Undefined: not managed. */
  optionalScopes?: string[];
}

/** The scopes Keycloak creates in every realm (and ones later versions add): never changed or deleted. */
export const builtinClientScopes: ReadonlySet<string> = new Set([
  "profile",
  "email",
  "roles",
  "web-origins",
  "acr",
  "basic",
  "offline_access",
  "microprofile-jwt",
  "address",
  "phone",
  "role_list",
  "saml_organization",
  "organization",
  "service_account",
]);

export function isBuiltinClientScope(name: string): boolean {
  return builtinClientScopes.has(name.toLowerCase());
}

type LinkKind = "default" | "optional";

/** Realm attributes listing the scope links this operator added (sorted JSON names). */
export const scopeLinkAttributes: Record<LinkKind, string> = {
  default: "kpo.dev/default-client-scopes",
  optional: "kpo.dev/optional-client-scopes",
};

export async function syncClientScopes(
  session: SyncSession,
  desired: DesiredClientScopes,
  owner: Owner,
  adopt: boolean,
): Promise<void> {
  const links: [LinkKind, string[]][] = [];
  if (desired.defaultScopes) links.push(["default", desired.defaultScopes]);
  if (desired.optionalScopes) links.push(["optional", desired.optionalScopes]);
  await validate(session, desired, links, owner);
  for (const [kind, wanted] of links) await syncLinks(session, kind, wanted, "unlink only");
  if (desired.scopes) await syncScopes(session, desired.scopes, owner, adopt);
  for (const [kind, wanted] of links) await syncLinks(session, kind, wanted, "link");
}

function listScopes(session: SyncSession): Promise<Map<string, ClientScopeRepresentation>> {
  const realm = session.realm;
  return session
    .read(`list client scopes of realm "${realm}"`, (kc) => kc.clientScopes.find({ realm }))
    .then((all) => indexByName(all.filter((s) => s.id)));
}

/**
 * What only Keycloak can tell, checked before this part of the sync writes anything: every linked
 * scope exists or is about to be created, and every role a scope mapping names exists.
 */
async function validate(
  session: SyncSession,
  desired: DesiredClientScopes,
  links: [LinkKind, string[]][],
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  if (links.length > 0) {
    const existing = await listScopes(session);
    const listed = new Set((desired.scopes ?? []).map((s) => s.name));
    // A scope of ours that left spec.clientScopes is deleted by this sync: it cannot stay linked.
    const deleted = (name: string) =>
      desired.scopes !== undefined &&
      !listed.has(name) &&
      itemOwnership(existing.get(name)?.attributes, owner) === "ours";
    for (const [kind, names] of links) {
      for (const name of names) {
        if (listed.has(name) || (existing.has(name) && !deleted(name))) continue;
        throw new MissingReferenceError(
          existing.has(name)
            ? `spec.${kind}ClientScopes names client scope "${name}", which was removed from spec.clientScopes and is deleted; remove it from spec.${kind}ClientScopes too`
            : `spec.${kind}ClientScopes names client scope "${name}", which does not exist in realm "${realm}"; ` +
                "add it to spec.clientScopes or remove it from the list",
        );
      }
    }
  }
  for (const scope of desired.scopes ?? []) {
    if (!scope.scopeMappings) continue;
    await resolveRoleKeys(session, roleKeysOf(scope.scopeMappings), scopeMappingUser(scope.name));
  }
}

const scopeMappingUser = (name: string) => `Client scope "${name}" (scopeMappings)`;

function scopeAttributes(scope: DesiredClientScope, owner: Owner): Record<string, string> {
  return { ...scope.attributes, [managedAttribute]: "true", [ownerUidAttribute]: owner.uid };
}

async function syncScopes(
  session: SyncSession,
  desired: DesiredClientScope[],
  owner: Owner,
  adopt: boolean,
): Promise<void> {
  const realm = session.realm;
  const what = (name: string) => `Client scope "${name}" in realm "${realm}"`;
  const scopes: Collection<DesiredClientScope, ClientScopeRepresentation, { id: string }> = {
    describe: (name) => `client scope "${name}" in realm "${realm}"`,
    field: (name) => `clientScope:${name}`,
    nameOf: (scope) => scope.name,
    list: () => listScopes(session),
    checkExisting: (name, actual) => {
      if (isBuiltinClientScope(name)) {
        // The policies refuse these first; this is the sync's own guarantee.
        throw new OwnershipError(
          `${what(name)} is one of Keycloak's own client scopes and is never changed; remove it from spec.clientScopes (list it in spec.defaultClientScopes or spec.optionalClientScopes to link it)`,
        );
      }
      checkItemOwnership(what(name), actual.attributes, owner, adopt);
    },
    create: (scope) => {
      if (isBuiltinClientScope(scope.name)) {
        throw new OwnershipError(
          `${what(scope.name)} is a name Keycloak reserves for its own client scopes; rename the scope in spec.clientScopes`,
        );
      }
      return (kc) =>
        kc.clientScopes.create({
          realm,
          name: scope.name,
          protocol: scope.protocol,
          attributes: scopeAttributes(scope, owner),
          ...(scope.description !== undefined ? { description: scope.description } : {}),
        });
    },
    update: (scope, actual) => {
      const attributes = scopeAttributes(scope, owner);
      const same =
        scope.protocol === actual.protocol &&
        (scope.description === undefined || scope.description === (actual.description ?? "")) &&
        isSubsetEqual(attributes, actual.attributes ?? {});
      if (same) return undefined;
      const id = actual.id ?? "";
      // A PUT replaces the attribute map: it is sent merged with what is there. Mappers are not sent.
      const rep: ClientScopeRepresentation = {
        id,
        name: scope.name,
        protocol: scope.protocol,
        description: scope.description ?? actual.description ?? "",
        attributes: { ...(actual.attributes as Record<string, string> | undefined), ...attributes },
      };
      return (kc) => kc.clientScopes.update({ realm, id }, rep);
    },
    remove: (name, actual) => {
      const id = actual.id ?? "";
      const ours = itemOwnership(actual.attributes, owner) === "ours" && !isBuiltinClientScope(name);
      return ours ? (kc) => kc.clientScopes.del({ realm, id }) : undefined;
    },
    placed: async (scope, actual, created) => {
      const id = created?.id ?? actual?.id ?? "";
      if (scope.protocolMappers) {
        const mappers = protocolMapperCollection({
          describe: `client scope "${scope.name}" in realm "${realm}"`,
          fieldPrefix: `clientScope:${scope.name}.`,
          protocol: scope.protocol,
          existing: actual?.protocolMappers ?? [],
          add: (rep) => (kc) => kc.clientScopes.addProtocolMapper({ realm, id }, rep),
          update: (mapperId, rep) => (kc) =>
            kc.clientScopes.updateProtocolMapper({ realm, id, mapperId }, rep),
          remove: (mapperId) => (kc) => kc.clientScopes.delProtocolMapper({ realm, id, mapperId }),
        });
        await syncCollection(session, mappers, scope.protocolMappers);
      }
      if (scope.scopeMappings)
        await syncScopeMappings(session, { id, name: scope.name }, scope.scopeMappings);
    },
  };
  await syncCollection(session, scopes, desired);
}

/** Each listed part of a scope's role scope mappings: the realm's roles, then each client's, exactly. */
async function syncScopeMappings(
  session: SyncSession,
  scope: { id: string; name: string },
  desired: NonNullable<DesiredClientScope["scopeMappings"]>,
): Promise<void> {
  const realm = session.realm;
  const { id } = scope;
  const held = heldOfMappings(
    await session.read(`read scope mappings of client scope "${scope.name}" in realm "${realm}"`, (kc) =>
      kc.clientScopes.listScopeMappings({ realm, id }),
    ),
  );
  const parts: { clientId?: string; names: string[] }[] = [];
  if (desired.realm !== undefined) parts.push({ names: desired.realm });
  for (const [clientId, names] of Object.entries(desired.client ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    parts.push({ clientId, names });
  for (const { clientId, names } of parts) {
    const own = clientId === undefined ? "realm roles" : `roles of client "${clientId}"`;
    const add = (client: string | undefined, roles: { id: string; name: string }[]): AdminRequest =>
      client === undefined
        ? (kc) => kc.clientScopes.addRealmScopeMappings({ realm, id }, roles)
        : (kc) => kc.clientScopes.addClientScopeMappings({ realm, id, client }, roles);
    const remove = (client: string | undefined, roles: { id: string; name: string }[]): AdminRequest =>
      client === undefined
        ? (kc) => kc.clientScopes.delRealmScopeMappings({ realm, id }, roles)
        : (kc) => kc.clientScopes.delClientScopeMappings({ realm, id, client }, roles);
    await reconcileRoleRefs(session, {
      field: `clientScope:${scope.name}.scopeMappings${clientId === undefined ? ".realmRoles" : `.clientRoles.${clientId}`}`,
      describe: `${own} in the scope mappings of client scope "${scope.name}" in realm "${realm}"`,
      usedBy: scopeMappingUser(scope.name),
      wanted: roleKeysOf(clientId === undefined ? { realm: names } : { client: { [clientId]: names } }),
      held: () => Promise.resolve(held.filter((h) => parseRoleKey(h.key).clientId === clientId)),
      perContainer: true,
      add,
      remove,
    });
  }
}

/**
 * The realm's default (or optional) scope links. `unlink only` removes the links this operator
 * added that are no longer wanted; `link` adds the missing wanted ones and keeps the record of what
 * it added: widened before adding, narrowed to what is still wanted after.
 */
async function syncLinks(
  session: SyncSession,
  kind: LinkKind,
  wanted: string[],
  phase: "unlink only" | "link",
): Promise<void> {
  const realm = session.realm;
  const attribute = scopeLinkAttributes[kind];
  const readRealm = () => session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const recorded = parseRecordedKeys(attributeValue((await readRealm())?.attributes, attribute));
  const linked = indexByName(
    await session.read(`list ${kind} client scopes of realm "${realm}"`, (kc) => {
      // The admin client types this payload as `void & {realm?}`; the realm is its path parameter.
      const inRealm = { realm } as unknown as void & { realm?: string };
      return kind === "default"
        ? kc.clientScopes.listDefaultClientScopes(inRealm)
        : kc.clientScopes.listDefaultOptionalClientScopes(inRealm);
    }),
  );
  const record = async (names: string[]) => {
    const value = JSON.stringify([...new Set(names)].sort());
    const fresh = await readRealm();
    if (attributeValue(fresh?.attributes, attribute) === value) return;
    await session.write(
      "PUT",
      `${kind}ClientScopes`,
      `record the ${kind} client scopes of realm "${realm}"`,
      (kc) => kc.realms.update({ realm }, { attributes: { ...fresh?.attributes, [attribute]: value } }),
    );
  };
  let scopeIds: Promise<Map<string, ClientScopeRepresentation>> | undefined;
  const links: Collection<string, ClientScopeRepresentation> = {
    kind: "linked",
    describe: (name) => `${kind} client scope "${name}" of realm "${realm}"`,
    field: () => `${kind}ClientScopes`,
    nameOf: (name) => name,
    list: () => Promise.resolve(linked),
    create: async (name) => {
      scopeIds ??= listScopes(session);
      const id = (await scopeIds).get(name)?.id;
      if (!id) {
        throw new MissingReferenceError(
          `spec.${kind}ClientScopes names client scope "${name}", which does not exist in realm "${realm}"; ` +
            "add it to spec.clientScopes or remove it from the list",
        );
      }
      return (kc) =>
        kind === "default"
          ? kc.clientScopes.addDefaultClientScope({ realm, id })
          : kc.clientScopes.addDefaultOptionalClientScope({ realm, id });
    },
    remove: (name, actual) => {
      const id = actual.id ?? "";
      if (!recorded.includes(name)) return undefined;
      return (kc) =>
        kind === "default"
          ? kc.clientScopes.delDefaultClientScope({ realm, id })
          : kc.clientScopes.delDefaultOptionalClientScope({ realm, id });
    },
  };
  if (phase === "unlink only") {
    // Only what is linked already is kept as desired, so this pass adds nothing.
    await syncCollection(
      session,
      links,
      wanted.filter((name) => linked.has(name)),
    );
    return;
  }
  const toAdd = wanted.filter((name) => !linked.has(name));
  const widened = [...new Set([...recorded, ...toAdd])];
  if (toAdd.some((name) => !recorded.includes(name))) await record(widened);
  await syncCollection(session, links, wanted);
  const kept = widened.filter((name) => wanted.includes(name));
  if (JSON.stringify([...kept].sort()) !== JSON.stringify([...recorded].sort())) await record(kept);
}
