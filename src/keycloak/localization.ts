// The realm's own localization texts (/admin/realms/{realm}/localization/{locale}/{key}): a string
// map per locale, managed key by key. Only the keys the spec lists are written; a key the operator
// wrote and that the spec no longer lists is removed; texts people added in the console are left
// alone. Which keys are the operator's is recorded in a realm attribute (realmRecord.ts), since a
// text has nowhere to carry a marker.
import { syncCollection, type Collection } from "./collection.js";
import { realmRecord } from "./realmRecord.js";
import type { SyncSession } from "./session.js";

/** Realm attribute listing the `locale/key` texts this operator wrote (sorted JSON). */
export const localizationTextsAttribute = "kpo.dev/localization-texts";

export type LocalizationTexts = Record<string, Record<string, string>>;

interface Text {
  key: string;
  value: string;
}

const recordKey = (locale: string, key: string) => `${locale}/${key}`;

export async function syncLocalizationTexts(session: SyncSession, desired: LocalizationTexts): Promise<void> {
  const realm = session.realm;
  const record = await realmRecord(session, localizationTextsAttribute, "localization");
  const wanted = Object.entries(desired).flatMap(([locale, texts]) =>
    Object.keys(texts).map((key) => recordKey(locale, key)),
  );
  await record.write([...record.recorded, ...wanted]);
  const recordedLocales = record.recorded.map((k) => k.slice(0, k.indexOf("/")));
  const locales = [...new Set([...Object.keys(desired), ...recordedLocales])].sort();
  for (const locale of locales) {
    const texts: Collection<Text, string> = {
      kind: "linked",
      describe: (key) => `localization text "${key}" (${locale}) of realm "${realm}"`,
      field: (key) => `localization:${locale}.${key}`,
      nameOf: (text) => text.key,
      list: async () =>
        new Map(
          Object.entries(
            await session.read(`read the ${locale} localization texts of realm "${realm}"`, (kc) =>
              kc.realms.getRealmLocalizationTexts({ realm, selectedLocale: locale }),
            ),
          ),
        ),
      create: (text) => (kc) =>
        kc.realms.addLocalization({ realm, selectedLocale: locale, key: text.key }, text.value),
      update: (text, actual) =>
        text.value === actual
          ? undefined
          : (kc) => kc.realms.addLocalization({ realm, selectedLocale: locale, key: text.key }, text.value),
      remove: (key) =>
        record.recorded.includes(recordKey(locale, key))
          ? (kc) => kc.realms.deleteRealmLocalizationTexts({ realm, selectedLocale: locale, key })
          : undefined,
    };
    const entries = Object.entries(desired[locale] ?? {}).map(([key, value]) => ({ key, value }));
    await syncCollection(session, texts, entries);
  }
  await record.write(wanted);
}
