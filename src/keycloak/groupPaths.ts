// A realm group by its path (/staff/ops). Keycloak's admin client has no lookup by path, so the
// group's own name is searched for exactly and the answer (the matching groups with their
// ancestors, as a tree) is walked for the path.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type { SyncSession } from "./session.js";

export async function findGroupByPath(
  session: SyncSession,
  path: string,
): Promise<GroupRepresentation | undefined> {
  const realm = session.realm;
  const name = path.split("/").pop() ?? "";
  const found = await session.read(`find group "${path}" in realm "${realm}"`, (kc) =>
    kc.groups.find({ realm, search: name, exact: true, briefRepresentation: true }),
  );
  const walk = (groups: GroupRepresentation[]): GroupRepresentation | undefined => {
    for (const g of groups) {
      if (g.path === path) return g;
      const below = walk(g.subGroups ?? []);
      if (below) return below;
    }
    return undefined;
  };
  return walk(found);
}
