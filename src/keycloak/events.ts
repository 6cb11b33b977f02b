// The realm's events configuration (which user and admin events are stored, for how long, and who
// listens) lives behind its own endpoint, /admin/realms/{realm}/events/config, whose PUT replaces
// the whole configuration. So it is read, compared on the fields the spec manages, and written only
// when one differs — merged with what is there, so the settings the spec leaves out keep their value.
import type { RealmEventsConfigRepresentation } from "@keycloak/keycloak-admin-client/lib/defs/realmEventsConfigRepresentation.js";
import { changedFields } from "./diff.js";
import type { SyncSession } from "./session.js";

export type EventsConfig = RealmEventsConfigRepresentation;

/** Keycloak leaves out an expiration of 0 (keep forever) and empty lists; compare them as such. */
function normalised(config: EventsConfig): Record<string, unknown> {
  return {
    ...config,
    eventsExpiration: config.eventsExpiration ?? 0,
    eventsListeners: config.eventsListeners ?? [],
    enabledEventTypes: config.enabledEventTypes ?? [],
    eventsEnabled: config.eventsEnabled ?? false,
    adminEventsEnabled: config.adminEventsEnabled ?? false,
    adminEventsDetailsEnabled: config.adminEventsDetailsEnabled ?? false,
  };
}

/** The fields of the events configuration that differ, as `events.<field>`; empty when in sync. */
export function eventsConfigChanges(desired: EventsConfig, actual: EventsConfig): string[] {
  return changedFields(desired as Record<string, unknown>, normalised(actual)).map((f) => `events.${f}`);
}

export async function syncEventsConfig(session: SyncSession, desired: EventsConfig): Promise<void> {
  const realm = session.realm;
  const actual = await session.read(`read the events configuration of realm "${realm}"`, (kc) =>
    kc.realms.getConfigEvents({ realm }),
  );
  const changed = eventsConfigChanges(desired, actual);
  if (changed.length === 0) return;
  for (const field of changed) if (!session.changed.includes(field)) session.changed.push(field);
  await session.write(
    "PUT",
    changed[0] ?? "events",
    `update the events configuration of realm "${realm}" (${changed.join(", ")})`,
    (kc) => kc.realms.updateConfigEvents({ realm }, { ...normalised(actual), ...desired }),
  );
}
