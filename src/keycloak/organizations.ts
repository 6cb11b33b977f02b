// The realm's organizations (/admin/realms/{realm}/organizations), by name: the operator creates,
// updates and deletes its own (marked like roles and groups, in the organization's attributes);
// one of the same name made by other means is refused unless the realm was adopted. Domains and
// linked identity providers are managed exactly when listed; members are not managed. Every
// identity provider an organization links must exist in the realm: that is checked before the first
// organization is written, so a wrong alias changes nothing.
import type OrganizationRepresentation from "@keycloak/keycloak-admin-client/lib/defs/organizationRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";
import { MissingReferenceError } from "./errors.js";
import { checkItemOwnership, itemMarker, itemOwnership, type Owner } from "./ownership.js";
import type { SyncSession } from "./session.js";

export interface DesiredOrganization {
  name: string;
  alias?: string;
  enabled?: boolean;
  description?: string;
  redirectUrl?: string;
  domains?: { name: string; verified?: boolean }[];
  attributes?: Record<string, string[]>;
  /** Aliases of identity providers to link; undefined: links not managed. */
  identityProviders?: string[];
}

const organizationPage = 10_000;

/** Throws, naming every missing alias, when an organization links an identity provider the realm lacks. */
async function checkIdentityProviders(
  session: SyncSession,
  desired: readonly DesiredOrganization[],
): Promise<void> {
  const wanted = desired.flatMap((o) => (o.identityProviders ?? []).map((alias) => ({ org: o.name, alias })));
  if (wanted.length === 0) return;
  const realm = session.realm;
  const existing = new Set(
    (
      await session.read(`list identity providers of realm "${realm}"`, (kc) =>
        kc.identityProviders.find({ realm }),
      )
    )
      .map((idp) => idp.alias)
      .filter((a): a is string => a !== undefined),
  );
  const missing = wanted.filter((w) => !existing.has(w.alias));
  if (missing.length > 0) {
    throw new MissingReferenceError(
      `spec.organizations links identity providers that do not exist in realm "${realm}": ` +
        missing.map((m) => `"${m.alias}" (organization "${m.org}")`).join(", ") +
        "; create them first or remove them from spec.organizations[].identityProviders",
    );
  }
}

function domainsDiffer(desired: DesiredOrganization["domains"], actual: OrganizationRepresentation): boolean {
  if (desired === undefined) return false;
  const have = new Map((actual.domains ?? []).map((d) => [d.name, d.verified ?? false]));
  if (have.size !== desired.length) return true;
  return desired.some(
    (d) => !have.has(d.name) || (d.verified !== undefined && have.get(d.name) !== d.verified),
  );
}

export async function syncOrganizations(
  session: SyncSession,
  desired: readonly DesiredOrganization[],
  owner: Owner,
  adopt: boolean,
): Promise<void> {
  const realm = session.realm;
  await checkIdentityProviders(session, desired);
  const marker = itemMarker(owner);
  const attributesOf = (org: DesiredOrganization, actual?: OrganizationRepresentation) => ({
    ...actual?.attributes,
    ...org.attributes,
    ...marker,
  });
  const representation = (
    org: DesiredOrganization,
    actual?: OrganizationRepresentation,
  ): OrganizationRepresentation => {
    const keep = actual === undefined ? {} : { ...actual, members: undefined, identityProviders: undefined };
    const verified = new Map((actual?.domains ?? []).map((d) => [d.name, d.verified ?? false]));
    return {
      ...keep,
      name: org.name,
      ...(org.alias !== undefined ? { alias: org.alias } : {}),
      ...(org.enabled !== undefined ? { enabled: org.enabled } : {}),
      ...(org.description !== undefined ? { description: org.description } : {}),
      ...(org.redirectUrl !== undefined ? { redirectUrl: org.redirectUrl } : {}),
      ...(org.domains !== undefined
        ? {
            domains: org.domains.map((d) => ({
              name: d.name,
              verified: d.verified ?? verified.get(d.name) ?? false,
            })),
          }
        : {}),
      attributes: attributesOf(org, actual),
    };
  };
  const describe = (name: string) => `organization "${name}" of realm "${realm}"`;
  const organizations: Collection<DesiredOrganization, OrganizationRepresentation, { id: string }> = {
    describe,
    field: (name) => `organization:${name}`,
    nameOf: (org) => org.name,
    list: async () => {
      const all = await session.read(`list organizations of realm "${realm}"`, (kc) =>
        kc.organizations.find({
          realm,
          first: 0,
          max: organizationPage,
          briefRepresentation: false,
        } as never),
      );
      return new Map(all.filter((o) => o.name && o.id).map((o) => [o.name ?? "", o]));
    },
    checkExisting: (name, actual) => {
      checkItemOwnership(`Organization "${name}" in realm "${realm}"`, actual.attributes, owner, adopt);
    },
    create: (org) => (kc) => kc.organizations.create({ realm, ...representation(org) }),
    update: (org, actual) => {
      if (org.alias !== undefined && actual.alias !== undefined && org.alias !== actual.alias) {
        throw new Error(
          `${describe(org.name)} has alias "${actual.alias}", and an alias cannot change; set spec.organizations[${org.name}].alias to "${actual.alias}" or remove it`,
        );
      }
      const differs =
        (org.enabled !== undefined && org.enabled !== (actual.enabled ?? false)) ||
        (org.description !== undefined && org.description !== (actual.description ?? "")) ||
        (org.redirectUrl !== undefined && org.redirectUrl !== (actual.redirectUrl ?? "")) ||
        domainsDiffer(org.domains, actual) ||
        !isSubsetEqual({ ...org.attributes, ...marker }, actual.attributes ?? {});
      const id = actual.id ?? "";
      return differs
        ? (kc) => kc.organizations.updateById({ realm, id }, representation(org, actual))
        : undefined;
    },
    remove: (_, actual) => {
      const id = actual.id ?? "";
      return itemOwnership(actual.attributes, owner) === "ours"
        ? (kc) => kc.organizations.delById({ realm, id })
        : undefined;
    },
    placed: async (org, actual, created) => {
      if (org.identityProviders === undefined) return;
      const orgId = created?.id ?? actual?.id ?? "";
      await syncOrganizationIdentityProviders(session, org, orgId, actual === undefined);
    },
  };
  await syncCollection(session, organizations, desired);
}

async function syncOrganizationIdentityProviders(
  session: SyncSession,
  org: DesiredOrganization,
  orgId: string,
  knownEmpty: boolean,
): Promise<void> {
  const realm = session.realm;
  const links: Collection<string, { alias?: string }> = {
    kind: "linked",
    describe: (alias) => `identity provider "${alias}" of organization "${org.name}" in realm "${realm}"`,
    field: (alias) => `organization:${org.name}.identityProviders.${alias}`,
    nameOf: (alias) => alias,
    list: async () =>
      knownEmpty
        ? new Map()
        : new Map(
            (
              await session.read(
                `list identity providers of organization "${org.name}" in realm "${realm}"`,
                (kc) => kc.organizations.listIdentityProviders({ realm, orgId }),
              )
            )
              .filter((idp) => idp.alias)
              .map((idp) => [idp.alias ?? "", idp]),
          ),
    create: (alias) => (kc) => kc.organizations.linkIdp({ realm, orgId, alias }),
    remove: (alias) => (kc) => kc.organizations.unLinkIdp({ realm, orgId, alias }),
  };
  await syncCollection(session, links, org.identityProviders ?? []);
}
