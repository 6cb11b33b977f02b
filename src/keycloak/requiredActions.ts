// A realm's required actions (CONFIGURE_TOTP, UPDATE_PASSWORD, VERIFY_EMAIL, …), by alias. Keycloak
// keeps one registration per provider; a realm may lack some. Listed actions are registered when
// needed (under their provider id, which becomes their alias) and their enabled / defaultAction /
// priority / config brought in line; unlisted ones are left exactly as they are — a required action
// is the realm's, not a thing this operator creates, so nothing is ever unregistered.
import type RequiredActionProviderRepresentation from "@keycloak/keycloak-admin-client/lib/defs/requiredActionProviderRepresentation.js";
import type { DesiredRequiredAction } from "../resources/authenticationFlowRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";
import { MissingReferenceError } from "./errors.js";
import type { SyncSession } from "./session.js";

type RequiredActionRep = RequiredActionProviderRepresentation;

/** The managed fields of `desired` that differ in `actual`. */
export function requiredActionChanges(desired: DesiredRequiredAction, actual: RequiredActionRep): string[] {
  const changed: string[] = [];
  for (const key of ["enabled", "defaultAction", "priority"] as const) {
    if (desired[key] !== undefined && desired[key] !== actual[key]) changed.push(key);
  }
  const config = (actual.config ?? {}) as Record<string, unknown>;
  if (
    desired.config !== undefined &&
    !(
      isSubsetEqual(desired.config, config) &&
      Object.keys(config).length === Object.keys(desired.config).length
    )
  )
    changed.push("config");
  return changed;
}

/** The representation an update sends: what is there, with the managed fields replaced. */
function updated(desired: DesiredRequiredAction, actual: RequiredActionRep): RequiredActionRep {
  const { alias: _alias, ...managed } = desired;
  return { ...actual, ...managed };
}

/**
 * Reads the realm's required actions and checks every listed alias is registered or can be (its
 * provider is deployed), throwing before any write otherwise. A realm not created yet is checked
 * when it is applied.
 */
export async function prepareRequiredActions(
  session: SyncSession,
  desired: readonly DesiredRequiredAction[],
  realmExists: boolean,
): Promise<{ apply(): Promise<void> }> {
  const realm = session.realm;
  // These two listings take no payload in the admin client's types, only the realm.
  const inRealm = { realm } as never;
  const read = async () => {
    const registered = await session.read(`list required actions of realm "${realm}"`, (kc) =>
      kc.authenticationManagement.getRequiredActions(inRealm),
    );
    const byAlias = new Map(registered.filter((a) => a.alias).map((a) => [a.alias ?? "", a]));
    const missing = desired.filter((d) => !byAlias.has(d.alias));
    const unregistered =
      missing.length === 0
        ? []
        : await session.read(`list unregistered required actions of realm "${realm}"`, (kc) =>
            kc.authenticationManagement.getUnregisteredRequiredActions(inRealm),
          );
    for (const d of missing) {
      if (!unregistered.some((u) => u.providerId === d.alias))
        throw new MissingReferenceError(
          `spec.requiredActions[${d.alias}] names a required action that realm "${realm}" does not have and Keycloak has no provider for; correct the alias (e.g. CONFIGURE_TOTP, UPDATE_PASSWORD, VERIFY_EMAIL, webauthn-register) or deploy the provider`,
        );
    }
    return { byAlias, unregistered };
  };
  let known = realmExists ? await read() : undefined;
  return {
    apply: async () => {
      known ??= await read();
      const { byAlias, unregistered } = known;
      const describe = (alias: string) => `required action "${alias}" of realm "${realm}"`;
      const actions: Collection<DesiredRequiredAction, RequiredActionRep> = {
        describe,
        field: (alias) => `requiredAction:${alias}`,
        nameOf: (d) => d.alias,
        list: () => Promise.resolve(byAlias),
        create: (d) => {
          const name = unregistered.find((u) => u.providerId === d.alias)?.name ?? d.alias;
          return (kc) =>
            kc.authenticationManagement.registerRequiredAction({ realm, providerId: d.alias, name });
        },
        update: (d, actual) =>
          requiredActionChanges(d, actual).length === 0
            ? undefined
            : (kc) =>
                kc.authenticationManagement.updateRequiredAction(
                  { realm, alias: d.alias },
                  updated(d, actual),
                ),
        // Required actions are the realm's own: never unregistered.
        remove: () => undefined,
        placed: async (d, actual) => {
          if (actual !== undefined) return;
          // Just registered, with Keycloak's defaults: bring the managed fields in line.
          const fresh = await session.read(
            `read ${describe(d.alias)}`,
            (kc) =>
              // Typed `any` by the admin client: it is a RequiredActionProviderRepresentation.
              kc.authenticationManagement.getRequiredActionForAlias({
                realm,
                alias: d.alias,
              }) as Promise<RequiredActionRep | null>,
          );
          const rep: RequiredActionRep = fresh ?? { alias: d.alias };
          if (requiredActionChanges(d, rep).length === 0) return;
          await session.write("PUT", `requiredAction:${d.alias}`, `update ${describe(d.alias)}`, (kc) =>
            kc.authenticationManagement.updateRequiredAction({ realm, alias: d.alias }, updated(d, rep)),
          );
        },
      };
      await syncCollection(session, actions, desired);
    },
  };
}
