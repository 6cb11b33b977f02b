// A realm's representation (Keycloak's export format) → the resources that reproduce it: one
// KeycloakRealm, a KeycloakClient per client that is not built in, a KeycloakUser per user when
// asked, and the Secrets their references name, kept apart from the resources so that no value is
// ever inline in a CR. The converters (realmSpec.ts, clientSpec.ts, userSpec.ts) decide what each
// spec holds and report what they cannot express; this file names the objects and wires them
// together. Pure: no I/O.
import { API_VERSION, CLIENT_KIND, REALM_KIND, USER_KIND, type KeycloakKind } from "../api/index.js";
import { clientSpecFromRepresentation } from "./clientSpec.js";
import { keycloakDefaults, type KeycloakDefaults, type Representation } from "./defaults.js";
import { withoutOperatorMarks } from "./marks.js";
import { realmSpecFromRepresentation } from "./realmSpec.js";
import { ExportReport } from "./report.js";
import { userSpecFromRepresentation } from "./userSpec.js";
import { createHash } from "node:crypto";

export interface ExportOptions {
  /** Namespace of every written object. */
  namespace: string;
  /** The KeycloakInstance the realm is on (or is to be created on). */
  instanceRef: { name: string; namespace?: string };
  /** metadata.name of the KeycloakRealm; default: the realm's name made a DNS label. */
  resourceName?: string;
  /** spec.realmName; default: the realm's name in the export (another name imports a copy). */
  realmName?: string;
  /** Set spec.adopt: the objects exist and the resources take them over. */
  adopt: boolean;
  /** Write a KeycloakUser per user of the export. */
  users: boolean;
  defaults?: KeycloakDefaults;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  type?: string;
  stringData?: Record<string, string>;
}

export interface ExportResult {
  /** The KeycloakRealm first, then clients, then users. */
  resources: Manifest[];
  /** The Secrets the resources reference; values the source did not have are empty. */
  secrets: Manifest[];
  report: ExportReport;
}

/** Annotation on an exported Secret whose value the source did not have. */
export const FILL_IN_ANNOTATION = "keycloak.kpo.dev/export-fill-in";

/**
 * A Kubernetes object name for `value`: lowercase letters, digits and '-', at most 63 characters.
 * A value that had to change gets a short hash of the original, so two names that differ only in
 * what was replaced (`web_app`, `web.app`) do not meet.
 */
export function objectName(value: string): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (cleaned === value && cleaned.length <= 63) return cleaned;
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 6);
  return `${cleaned.slice(0, 56).replace(/-$/, "") || "x"}-${hash}`;
}

const resource = (
  kind: KeycloakKind,
  name: string,
  namespace: string,
  spec: Record<string, unknown>,
): Manifest => ({
  apiVersion: API_VERSION,
  kind,
  metadata: { name, namespace },
  spec,
});

export function exportRealmResources(source: Representation, options: ExportOptions): ExportResult {
  const report = new ExportReport();
  const defaults = options.defaults ?? keycloakDefaults;
  const rep = withoutOperatorMarks(source);
  const realm = typeof rep.realm === "string" ? rep.realm : "";
  if (realm === "")
    throw new Error("the representation has no realm name (field `realm`): is it a realm export?");
  const realmResource = options.resourceName ?? objectName(options.realmName ?? realm);
  const adopt = options.adopt ? { adopt: true } : {};
  const { namespace } = options;

  const realmSpec: Record<string, unknown> = {
    instanceRef: options.instanceRef,
    realmName: options.realmName ?? realm,
    ...adopt,
    ...realmSpecFromRepresentation(rep, report, { defaults, secretPrefix: realmResource }),
  };
  const resources: Manifest[] = [resource(REALM_KIND, realmResource, namespace, realmSpec)];
  const taken = new Set<string>([`${REALM_KIND}/${realmResource}`]);
  const uniqueName = (kind: KeycloakKind, wanted: string) => {
    let name = wanted;
    for (let i = 2; taken.has(`${kind}/${name}`); i++) name = `${wanted.slice(0, 60)}-${i}`;
    taken.add(`${kind}/${name}`);
    return name;
  };
  const realmRef = { name: realmResource };

  const users = (rep.users ?? []) as Representation[];
  const serviceAccounts = new Map(
    users
      .filter((u) => typeof u.serviceAccountClientId === "string")
      .map((u) => [String(u.serviceAccountClientId), u]),
  );
  for (const client of (rep.clients ?? []) as Representation[]) {
    const clientId = typeof client.clientId === "string" ? client.clientId : "";
    const name = uniqueName(CLIENT_KIND, objectName(`${realmResource}-${clientId}`));
    const account = serviceAccounts.get(clientId);
    const body = clientSpecFromRepresentation(client, rep, report, {
      defaults,
      secretPrefix: name,
      ...(account
        ? {
            serviceAccountRoles: {
              realm: (account.realmRoles ?? []) as string[],
              client: (account.clientRoles ?? {}) as Record<string, string[]>,
            },
          }
        : {}),
    });
    if (body === undefined) continue;
    resources.push(resource(CLIENT_KIND, name, namespace, { realmRef, ...adopt, ...body }));
  }

  if (options.users) {
    for (const user of users.filter((u) => typeof u.serviceAccountClientId !== "string")) {
      const username = typeof user.username === "string" ? user.username : "";
      const name = uniqueName(USER_KIND, objectName(`${realmResource}-${username}`));
      const body = userSpecFromRepresentation(user, rep, report, { defaults, secretPrefix: name });
      if (body === undefined) continue;
      resources.push(resource(USER_KIND, name, namespace, { realmRef, ...adopt, ...body }));
    }
  }
  if (options.adopt) grantOwnAdoptions(realmSpec, resources, namespace);
  if (!options.users && users.some((u) => typeof u.serviceAccountClientId !== "string")) {
    report.notExpressed("$.users", "users are exported only with --users");
  }

  return { resources, secrets: secretManifests(report, namespace), report };
}

/** The schema's bound on one adoption grant's list. */
const GRANT_LIST_MAX = 256;

/**
 * The realm grants its own namespace the adoption of the clients and users written with it, so that
 * the set applies as written (a grant the export cannot write itself, the instance's for the realm,
 * is the user's to add). Spread over several grants when one list would pass the schema's bound.
 */
function grantOwnAdoptions(
  realmSpec: Record<string, unknown>,
  resources: Manifest[],
  namespace: string,
): void {
  const named = (kind: string, field: string) =>
    resources.filter((r) => r.kind === kind).map((r) => String(r.spec?.[field]));
  const chunks = (names: string[]) =>
    Array.from({ length: Math.ceil(names.length / GRANT_LIST_MAX) }, (_, i) =>
      names.slice(i * GRANT_LIST_MAX, (i + 1) * GRANT_LIST_MAX),
    );
  const grants = [
    ...chunks(named(CLIENT_KIND, "clientId")).map((clientIds) => ({ namespaces: [namespace], clientIds })),
    ...chunks(named(USER_KIND, "username")).map((usernames) => ({ namespaces: [namespace], usernames })),
  ];
  if (grants.length > 0) realmSpec.adoptionGrants = grants;
}

/** One Secret per name the report collected, its keys merged; a value the source lacked is empty. */
function secretManifests(report: ExportReport, namespace: string): Manifest[] {
  const byName = new Map<string, Manifest>();
  for (const s of report.secrets) {
    const manifest =
      byName.get(s.name) ??
      ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: s.name, namespace },
        type: "Opaque",
        stringData: {},
      } satisfies Manifest);
    byName.set(s.name, manifest);
    (manifest.stringData ??= {})[s.key] = s.value ?? "";
    if (s.value === undefined) {
      const annotations = (manifest.metadata.annotations ??= {});
      const missing = annotations[FILL_IN_ANNOTATION]?.split(",") ?? [];
      annotations[FILL_IN_ANNOTATION] = [...missing, s.key].join(",");
    }
  }
  return [...byName.values()];
}
