// One sync run against one realm: counts its own writes and changed fields (the connection's
// counters are shared by concurrent syncs), and caches the lookups a run repeats (client uuids,
// role representations) so that a resync does each read once.
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import { loggerFor } from "../observability/logger.js";
import type { KeycloakConnection } from "./connection.js";
import { KeycloakApiError, MissingReferenceError } from "./errors.js";
import type { FieldChange } from "./plan.js";

const log = loggerFor("keycloak-sync");

/**
 * Creating or deleting a realm makes Keycloak create or drop dozens of objects (clients, roles,
 * flows, keys); on a busy server that takes far longer than an ordinary admin call.
 */
export const realmLifecycleTimeoutMs = 120_000;

export interface RoleRef {
  id: string;
  name: string;
}

export class SyncSession {
  readonly conn: KeycloakConnection;
  readonly realm: string;
  readonly namespace: string;
  writes = 0;
  readonly changed: string[] = [];
  readonly #clientsByClientId = new Map<string, ClientRepresentation | null>();
  readonly #clientIdByUuid = new Map<string, string>();
  readonly #clientRoles = new Map<string, Map<string, RoleRepresentation>>();
  #realmRoles: Map<string, RoleRepresentation> | undefined;

  constructor(conn: KeycloakConnection, realm: string, namespace: string) {
    this.conn = conn;
    this.realm = realm;
    this.namespace = namespace;
  }

  read<T>(what: string, fn: (admin: KeycloakAdminClient) => Promise<T>): Promise<T> {
    return this.conn.call({ method: "GET", what, namespace: this.namespace }, fn);
  }

  /**
   * A write that changes `field` (recorded in `changed`). `changes` says which values it changes
   * from what to what, where the caller knows: a connection in plan mode reports them (./plan.ts).
   */
  write<T>(
    method: "POST" | "PUT" | "DELETE",
    field: string,
    what: string,
    fn: (admin: KeycloakAdminClient) => Promise<T>,
    timeoutMs?: number,
    changes?: FieldChange[],
  ): Promise<T> {
    return this.#write({ method, field, what, timeoutMs, ...(changes ? { changes } : {}) }, fn);
  }

  /**
   * A POST that creates a named object. Its 409 is retryable: the object appeared between our read
   * and our write (often our own earlier request, still running when the operator restarted), and
   * the retry re-reads it, then continues if it is ours or refuses it with an ownership error.
   */
  create<T>(
    field: string,
    what: string,
    fn: (admin: KeycloakAdminClient) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T> {
    return this.#write({ method: "POST", field, what, timeoutMs, creates: true }, fn);
  }

  /**
   * A create sent without looking the object up first, for one the caller expects to be new: when
   * Keycloak answers 409 (it exists after all) this is undefined and counts as no write; the
   * caller then finds it and carries on as for any existing object. Not for a connection in plan
   * mode, whose creates are recorded rather than answered.
   */
  async createUnlessExists<T>(
    field: string,
    what: string,
    fn: (admin: KeycloakAdminClient) => Promise<T>,
  ): Promise<T | undefined> {
    const changedBefore = this.changed.length;
    try {
      return await this.create(field, what, fn);
    } catch (err) {
      if (!(err instanceof KeycloakApiError && err.status === 409)) throw err;
      this.writes -= 1;
      this.changed.length = changedBefore;
      return undefined;
    }
  }

  async #write<T>(
    request: {
      method: "POST" | "PUT" | "DELETE";
      field: string;
      what: string;
      timeoutMs?: number;
      creates?: boolean;
      changes?: FieldChange[];
    },
    fn: (admin: KeycloakAdminClient) => Promise<T>,
  ): Promise<T> {
    const { method, field, what, timeoutMs, creates, changes } = request;
    this.writes += 1;
    if (!this.changed.includes(field)) this.changed.push(field);
    const plan = this.conn.plan;
    if (plan) {
      // Recorded, not sent: the connection is planning (`kpo diff`).
      return plan.record<T>({
        method,
        field,
        what,
        creates: creates ?? false,
        ...(changes ? { changes } : {}),
      });
    }
    log.debug(
      { instance: this.conn.instance, realm: this.realm, namespace: this.namespace, method, field },
      what,
    );
    return this.conn.call(
      {
        method,
        what,
        namespace: this.namespace,
        realm: this.realm,
        ...(timeoutMs ? { timeoutMs } : {}),
        ...(creates ? { creates } : {}),
      },
      fn,
    );
  }

  /** Realm roles by name, full representation (with attributes). Cached until `forgetRealmRoles`. */
  async realmRoles(): Promise<Map<string, RoleRepresentation>> {
    if (!this.#realmRoles) {
      const roles = await this.read(`list roles of realm "${this.realm}"`, (kc) =>
        kc.roles.find({ realm: this.realm, briefRepresentation: false }),
      );
      this.#realmRoles = new Map(roles.filter((r) => r.name).map((r) => [r.name ?? "", r]));
    }
    return this.#realmRoles;
  }

  forgetRealmRoles(): void {
    this.#realmRoles = undefined;
  }

  async realmRoleRef(name: string, usedBy: string): Promise<RoleRef> {
    const role = (await this.realmRoles()).get(name);
    // In plan mode, a role this run would create (collection.ts words its create so).
    const planned = role?.id
      ? undefined
      : this.conn.plan?.created(`create role "${name}" in realm "${this.realm}"`);
    if (planned) return { id: planned, name };
    if (!role?.id) {
      throw new MissingReferenceError(
        `${usedBy} refers to realm role "${name}", which does not exist in realm "${this.realm}"; ` +
          "add it to the realm's roles or remove the reference",
      );
    }
    return { id: role.id, name };
  }

  /** The client with this clientId, or null. */
  async client(clientId: string): Promise<ClientRepresentation | null> {
    if (!this.#clientsByClientId.has(clientId)) {
      const found = await this.read(`find client "${clientId}" in realm "${this.realm}"`, (kc) =>
        kc.clients.find({ realm: this.realm, clientId }),
      );
      const client = found.find((c) => c.clientId === clientId) ?? null;
      this.#clientsByClientId.set(clientId, client);
      if (client?.id) this.#clientIdByUuid.set(client.id, clientId);
    }
    return this.#clientsByClientId.get(clientId) ?? null;
  }

  async clientUuid(clientId: string, usedBy: string): Promise<string> {
    const client = await this.client(clientId);
    if (!client?.id) {
      throw new MissingReferenceError(
        `${usedBy} refers to client "${clientId}", which does not exist in realm "${this.realm}"; ` +
          "create the client first or remove the reference",
      );
    }
    return client.id;
  }

  /** clientId of a client uuid (e.g. a role's containerId); reads all clients once if unknown. */
  async clientIdOf(uuid: string): Promise<string> {
    if (!this.#clientIdByUuid.has(uuid)) {
      const all = await this.read(`list clients of realm "${this.realm}"`, (kc) =>
        kc.clients.find({ realm: this.realm }),
      );
      for (const c of all) if (c.id && c.clientId) this.#clientIdByUuid.set(c.id, c.clientId);
    }
    return this.#clientIdByUuid.get(uuid) ?? uuid;
  }

  /** Roles of the client with this clientId by name, full representation; none if there is no such client. */
  async clientRoles(clientId: string): Promise<Map<string, RoleRepresentation>> {
    const uuid = (await this.client(clientId))?.id;
    if (!uuid) return new Map();
    let roles = this.#clientRoles.get(uuid);
    if (!roles) {
      const list = await this.read(`list roles of client "${clientId}" in realm "${this.realm}"`, (kc) =>
        kc.clients.listRoles({ realm: this.realm, id: uuid }),
      );
      roles = new Map(list.filter((r) => r.id && r.name).map((r) => [r.name ?? "", r]));
      this.#clientRoles.set(uuid, roles);
    }
    return roles;
  }

  async clientRoleRef(clientId: string, name: string, usedBy: string): Promise<RoleRef> {
    await this.clientUuid(clientId, usedBy);
    const role = (await this.clientRoles(clientId)).get(name);
    const planned = role?.id
      ? undefined
      : this.conn.plan?.created(`create role "${name}" of client "${clientId}"`);
    if (planned) return { id: planned, name };
    if (!role?.id) {
      throw new MissingReferenceError(
        `${usedBy} refers to role "${name}" of client "${clientId}", which does not exist in realm "${this.realm}"; ` +
          "add the role to that client or remove the reference",
      );
    }
    return { id: role.id, name };
  }

  forgetClientRoles(uuid: string): void {
    this.#clientRoles.delete(uuid);
  }
}
