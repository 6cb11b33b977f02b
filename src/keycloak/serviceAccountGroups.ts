// The group memberships of a client's service account (spec.serviceAccount.groups): a linked
// collection of realm groups, by path. Memberships the operator added are recorded in a client
// attribute; only those are removed when the spec stops listing them, so a membership an
// administrator gave the service account by hand is left alone. Joining a group grants its roles:
// the privilege closure (src/policy/privilege.ts) follows group memberships before this runs.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import { MissingReferenceError } from "./errors.js";
import { findGroupByPath } from "./groupPaths.js";
import { recordOnClient } from "./clientRecord.js";
import { attributeValue, type Owner } from "./ownership.js";
import { parseRecordedKeys } from "./roleReferences.js";
import type { SyncSession } from "./session.js";

/** Client attribute listing the groups the operator added the service account to (sorted JSON). */
export const serviceAccountGroupsAttribute = "kpo.dev/service-account-groups";

interface ClientRef {
  id: string;
  clientId: string;
}

/**
 * Keycloak's id of the client's service-account user; a client without one cannot hold what the
 * spec gives it (`has`: what the spec does, `what`: what to remove instead).
 */
export async function serviceAccountUserId(
  session: SyncSession,
  { id, clientId }: ClientRef,
  has: string,
  what: string,
): Promise<string> {
  const realm = session.realm;
  const user = await session.read(`read service account of client "${clientId}"`, (kc) =>
    kc.clients.getServiceAccountUser({ realm, id }),
  );
  if (!user.id) {
    throw new MissingReferenceError(
      `Client "${clientId}" in realm "${realm}" ${has} but has no service account; ` +
        `set serviceAccountsEnabled: true (and a confidential client) or remove the ${what}`,
    );
  }
  return user.id;
}

export async function syncServiceAccountGroups(
  session: SyncSession,
  { id, clientId }: ClientRef,
  paths: readonly string[],
  clientAttributes: Record<string, unknown>,
  owner: Owner,
): Promise<void> {
  const realm = session.realm;
  const userId = await serviceAccountUserId(
    session,
    { id, clientId },
    "lists spec.serviceAccount.groups",
    "groups",
  );
  const recorded = parseRecordedKeys(attributeValue(clientAttributes, serviceAccountGroupsAttribute));
  const memberships: Collection<string, GroupRepresentation> = {
    kind: "linked",
    describe: (path) => `membership of the service account of client "${clientId}" in group "${path}"`,
    field: () => "serviceAccountGroups",
    nameOf: (path) => path,
    list: async () => {
      const groups = await session.read(`list groups of the service account of client "${clientId}"`, (kc) =>
        kc.users.listGroups({ realm, id: userId, briefRepresentation: true, first: 0, max: 1000 }),
      );
      return new Map(groups.filter((g) => g.path && g.id).map((g) => [g.path ?? "", g]));
    },
    create: async (path) => {
      const groupId = (await findGroupByPath(session, path))?.id;
      if (!groupId) {
        throw new MissingReferenceError(
          `Client "${clientId}" lists group "${path}" in spec.serviceAccount.groups, which does not exist in realm "${realm}"; ` +
            "create the group (in the realm's spec.groups) or remove it from the list",
        );
      }
      return (kc) => kc.users.addToGroup({ realm, id: userId, groupId });
    },
    remove: (path, actual) => {
      const groupId = actual.id ?? "";
      return recorded.includes(path)
        ? (kc) => kc.users.delFromGroup({ realm, id: userId, groupId })
        : undefined;
    },
  };
  await syncCollection(session, memberships, paths);
  await recordOnClient(session, { clientId, id, attributes: clientAttributes }, owner, {
    attribute: serviceAccountGroupsAttribute,
    field: "serviceAccountGroups",
    what: "service account groups",
    keys: paths,
  });
}
