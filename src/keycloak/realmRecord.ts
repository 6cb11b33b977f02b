// A record, in a realm attribute, of the things the operator itself put into a realm collection that
// carries no marker of its own (localization texts, links). It lets a sync remove what it added and
// is no longer listed without touching what people added. The record is widened before a collection
// changes and narrowed after, so a sync interrupted in between still knows what to remove next time.
import { attributeValue } from "./ownership.js";
import { parseRecordedKeys } from "./roleReferences.js";
import type { SyncSession } from "./session.js";

export interface RealmRecord {
  /** The keys recorded when the sync started. */
  readonly recorded: readonly string[];
  /** Writes `keys` (sorted) into the attribute unless it already holds exactly them. */
  write(keys: Iterable<string>): Promise<void>;
}

export async function realmRecord(
  session: SyncSession,
  attribute: string,
  field: string,
): Promise<RealmRecord> {
  const realm = session.realm;
  const read = () => session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const recorded = parseRecordedKeys(attributeValue((await read())?.attributes, attribute));
  let current = JSON.stringify(recorded);
  return {
    recorded,
    async write(keys) {
      const value = JSON.stringify([...new Set(keys)].sort());
      if (value === current) return;
      // Re-read: the realm PUT replaces the whole attribute map.
      const fresh = await read();
      if (attributeValue(fresh?.attributes, attribute) !== value) {
        await session.write("PUT", field, `record ${field} of realm "${realm}"`, (kc) =>
          kc.realms.update({ realm }, { attributes: { ...fresh?.attributes, [attribute]: value } }),
        );
      }
      current = value;
    },
  };
}
