// A live realm read into the shape of Keycloak's own full export file (`kc.sh export`), so that a
// live export and `--from-file` go through the same converters. The partial export endpoint gives
// the realm's settings, clients, roles, groups, scopes, flows, components and identity providers
// (secrets masked); what it leaves out is read next to it: the realm's localization texts, its
// organizations, the service-account users' role mappings and, when asked, the users with their
// role mappings and group paths. Reads only.
import type { KeycloakConnection } from "../keycloak/connection.js";
import type { Representation } from "./defaults.js";

export interface LiveReadOptions {
  /** Also read the realm's users (not service accounts: those are always read). */
  users?: boolean;
  /** Users per page. */
  pageSize?: number;
}

type Mappings = {
  realmMappings?: { name?: string }[];
  clientMappings?: Record<string, { mappings?: { name?: string }[] }>;
};

/** Realm role names and client roles by clientId, as the full export writes them for a user. */
function exportedRoles(mappings: Mappings): { realmRoles: string[]; clientRoles: Record<string, string[]> } {
  const names = (roles: { name?: string }[] | undefined) =>
    (roles ?? []).map((r) => r.name).filter((n): n is string => n !== undefined);
  return {
    realmRoles: names(mappings.realmMappings),
    clientRoles: Object.fromEntries(
      Object.entries(mappings.clientMappings ?? {})
        .map(([clientId, m]) => [clientId, names(m.mappings)] as const)
        .filter(([, roles]) => roles.length > 0),
    ),
  };
}

export async function readLiveRealm(
  conn: KeycloakConnection,
  realm: string,
  options: LiveReadOptions = {},
): Promise<Representation> {
  const get = <T>(what: string, fn: Parameters<KeycloakConnection["call"]>[1]) =>
    conn.call({ method: "GET", what: `${what} of realm "${realm}" for the export` }, fn) as Promise<T>;
  // The partial export is a POST that writes nothing.
  const exported = (await conn.call({ method: "POST", what: `export realm "${realm}"`, realm }, (admin) =>
    admin.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true }),
  )) as Representation;

  const locales = await get<string[]>("list the localization locales", (admin) =>
    admin.realms.getRealmSpecificLocales({ realm }),
  );
  const localizationTexts: Record<string, Record<string, string>> = {};
  for (const locale of locales) {
    localizationTexts[locale] = await get<Record<string, string>>(`read the ${locale} texts`, (admin) =>
      admin.realms.getRealmLocalizationTexts({ realm, selectedLocale: locale }),
    );
  }

  let organizations: Representation[] | undefined;
  if (exported.organizationsEnabled === true) {
    const found = await get<Representation[]>("list organizations", (admin) =>
      // briefRepresentation is a query parameter the client's type does not list (as in organizations.ts).
      admin.organizations.find({ realm, first: 0, max: 10_000, briefRepresentation: false } as never),
    );
    organizations = [];
    for (const org of found) {
      const id = String(org.id);
      const identityProviders = await get<Representation[]>(
        `list the identity providers of organization "${String(org.name)}"`,
        (admin) => admin.organizations.listIdentityProviders({ realm, orgId: id }),
      );
      organizations.push({ ...org, identityProviders });
    }
  }

  const users: Representation[] = [];
  const clients = (exported.clients ?? []) as Representation[];
  for (const client of clients.filter((c) => c.serviceAccountsEnabled === true)) {
    const id = String(client.id);
    const account = await get<Representation>(
      `read the service account of client "${String(client.clientId)}"`,
      (admin) => admin.clients.getServiceAccountUser({ realm, id }),
    );
    const mappings = await get<Mappings>(
      `read the service account roles of client "${String(client.clientId)}"`,
      (admin) => admin.users.listRoleMappings({ realm, id: String(account.id) }),
    );
    const groups = await get<{ path?: string }[]>(
      `read the service account groups of client "${String(client.clientId)}"`,
      (admin) => admin.users.listGroups({ realm, id: String(account.id), briefRepresentation: true }),
    );
    users.push({
      ...account,
      serviceAccountClientId: client.clientId,
      ...exportedRoles(mappings),
      groups: groups.map((g) => g.path).filter((p): p is string => p !== undefined),
    });
  }
  if (options.users) {
    const max = options.pageSize ?? 100;
    for (let first = 0; ; first += max) {
      const page = await get<Representation[]>("list users", (admin) =>
        admin.users.find({ realm, first, max, briefRepresentation: false }),
      );
      for (const user of page) {
        if (typeof user.username === "string" && user.username.startsWith("service-account-")) continue;
        const id = String(user.id);
        const mappings = await get<Mappings>(`read the roles of user "${String(user.username)}"`, (admin) =>
          admin.users.listRoleMappings({ realm, id }),
        );
        const groups = await get<{ path?: string }[]>(
          `read the groups of user "${String(user.username)}"`,
          (admin) => admin.users.listGroups({ realm, id, briefRepresentation: true }),
        );
        users.push({
          ...user,
          ...exportedRoles(mappings),
          groups: groups.map((g) => g.path).filter((p): p is string => p !== undefined),
        });
      }
      if (page.length < max) break;
    }
  }
  return {
    ...exported,
    ...(Object.keys(localizationTexts).length > 0 ? { localizationTexts } : {}),
    ...(organizations ? { organizations } : {}),
    ...(users.length > 0 ? { users } : {}),
  };
}
