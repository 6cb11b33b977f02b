// Captures what Keycloak gives an object nobody configured — a new realm (its partial export:
// settings, built-in clients, scopes, roles, flows, key providers), a new OIDC client, a new SAML
// client and a new user — from the pinned Keycloak (tools.versions), into
// src/export/keycloak-defaults.json. `kpo export` leaves out what equals these (defaults omitted,
// built-in objects skipped). `npm run gen:keycloak-defaults` rewrites the file; the export
// round-trip integration test checks that the file still matches the Keycloak it runs against.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import KcAdminClient from "@keycloak/keycloak-admin-client";
import { format, resolveConfig } from "prettier";
import { keycloakDefaultsPath, normalizeDefaults, type KeycloakDefaults } from "../src/export/defaults.js";
import { startKeycloak } from "../src/testenv/keycloak.js";

/** The defaults as the given Keycloak has them (creates a scratch realm "fresh"). */
export async function captureKeycloakDefaults(
  admin: KcAdminClient,
  version: string,
): Promise<KeycloakDefaults> {
  const realm = "kpo-defaults-probe";
  await admin.realms.create({ realm, enabled: true });
  try {
    const oidc = await admin.clients.create({ realm, clientId: "probe-oidc" });
    const saml = await admin.clients.create({ realm, clientId: "probe-saml", protocol: "saml" });
    const user = await admin.users.create({ realm, username: "probe" });
    const exported = await admin.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true });
    const { clients = [], ...realmExport } = exported as Record<string, unknown> & {
      clients?: { clientId?: string }[];
    };
    return normalizeDefaults(
      {
        keycloakVersion: version,
        realm: { ...realmExport, clients: clients.filter((c) => !c.clientId?.startsWith("probe-")) },
        oidcClient: (await admin.clients.findOne({ realm, id: oidc.id })) as Record<string, unknown>,
        samlClient: (await admin.clients.findOne({ realm, id: saml.id })) as Record<string, unknown>,
        user: (await admin.users.findOne({ realm, id: user.id })) as Record<string, unknown>,
      },
      realm,
    );
  } finally {
    await admin.realms.del({ realm });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(join(tmpdir(), "kpo-defaults-"));
  const kc = await startKeycloak({ dir });
  try {
    const admin = new KcAdminClient({ baseUrl: kc.url, realmName: "master" });
    await admin.auth({
      grantType: "password",
      clientId: "admin-cli",
      username: kc.adminUsername,
      password: kc.adminPassword,
    });
    const info = await admin.serverInfo.find();
    const defaults = await captureKeycloakDefaults(admin, info.systemInfo?.version ?? "unknown");
    const text = JSON.stringify(defaults, null, 2);
    writeFileSync(
      keycloakDefaultsPath,
      await format(text, { ...(await resolveConfig(keycloakDefaultsPath)), filepath: keycloakDefaultsPath }),
    );
    console.log(`wrote ${keycloakDefaultsPath} (Keycloak ${defaults.keycloakVersion})`);
  } finally {
    await kc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
