// Groups by path (/staff/ops): the paths a spec's group tree declares, and a realm group looked up
// by its path. Keycloak's admin client has no lookup by path, so the group's own name is searched
// for exactly and the answer (the matching groups with their ancestors, as a tree) is walked.
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type { SyncSession } from "./session.js";

export interface NamedGroup {
  name?: string;
  subGroups?: NamedGroup[];
}

/** Every path of a group tree: `/a`, `/a/b`, … */
export function groupPaths(groups: readonly NamedGroup[] | undefined, parent = ""): string[] {
  return (groups ?? []).flatMap((g) => {
    const path = `${parent}/${g.name ?? ""}`;
    return [path, ...groupPaths(g.subGroups, path)];
  });
}

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
