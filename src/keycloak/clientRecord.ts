// A client attribute recording what the operator added to a set it shares with whoever else edits
// the client (its service account's roles, its groups), so that a later sync removes only those.
// Written only when the record changes; the client is re-read first: earlier steps of the same sync
// may have changed its attributes, and a PUT replaces them all. Its authorizationServicesEnabled
// goes along, since a representation without it switches authorization services off (tried on
// 26.5); nothing else does (a whole representation would put back the client scopes it lists).
import { attributeValue, ownerAttributes, type Owner } from "./ownership.js";
import type { SyncSession } from "./session.js";

export interface RecordedClient {
  clientId: string;
  /** Keycloak's id of the client. */
  id: string;
  /** The client's attributes as read at the start of this sync. */
  attributes: Record<string, unknown> | undefined;
}

export async function recordOnClient(
  session: SyncSession,
  client: RecordedClient,
  owner: Owner,
  record: { attribute: string; field: string; what: string; keys: readonly string[] },
): Promise<void> {
  const { clientId, id } = client;
  const realm = session.realm;
  const value = JSON.stringify([...new Set(record.keys)].sort());
  if (attributeValue(client.attributes, record.attribute) === value) return;
  const current = await session.read(`find client "${clientId}" in realm "${realm}"`, (kc) =>
    kc.clients.findOne({ realm, id }),
  );
  const attributes = { ...current?.attributes, ...ownerAttributes(owner), [record.attribute]: value };
  await session.write("PUT", record.field, `record ${record.what} of client "${clientId}"`, (kc) =>
    kc.clients.update(
      { realm, id },
      {
        clientId,
        attributes,
        ...(current?.authorizationServicesEnabled !== undefined
          ? { authorizationServicesEnabled: current.authorizationServicesEnabled }
          : {}),
      },
    ),
  );
}
